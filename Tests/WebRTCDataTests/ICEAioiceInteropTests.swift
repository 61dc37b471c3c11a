import Foundation
import XCTest
@testable import WebRTCData

/// Our ICE agents against aioice 0.13 (aiortc's ICE), a real independent peer. Runs only inside
/// the test namespace (`scripts/netns-run`, which sets TB_NETNS and TB_ADDR_B), because aioice
/// never gathers 127.0.0.1; `Tests/interop/test_ice_aioice.py` runs it that way.
final class ICEAioiceInteropTests: XCTestCase {
    /// The aioice peer process, spoken to in JSON lines.
    final class Peer: @unchecked Sendable {
        // @unchecked: touched by one test at a time; the process and pipes are thread-safe.
        let process = Process()
        let input = Pipe()
        let output = Pipe()
        private var buffer: [UInt8] = []

        init(controlling: Bool) throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
            process.executableURL = root.appendingPathComponent(".venv-peers/bin/python")
            process.arguments = [root.appendingPathComponent("Tests/interop/ice_aioice_peer.py").path] + (controlling ? ["--controlling"] : [])
            process.standardInput = input
            process.standardOutput = output
            try process.run()
        }

        /// The next JSON line, read on a detached thread so the test's executor never blocks.
        func next(timeout: Duration = .seconds(25)) async throws -> [String: Any] {
            let handle = output.fileHandleForReading
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if let newline = buffer.firstIndex(of: 10) {
                    let line = Array(buffer[..<newline])
                    buffer.removeSubrange(...newline)
                    let object = try JSONSerialization.jsonObject(with: Data(line))
                    return object as? [String: Any] ?? [:]
                }
                let chunk = await Task.detached { handle.availableData }.value
                if chunk.isEmpty { break }
                buffer += chunk
            }
            throw WebRTCDataError(.ice, .badValue, at: "aioice peer", "no line from the peer")
        }

        func send(_ object: [String: Any]) throws {
            var data = try JSONSerialization.data(withJSONObject: object)
            data.append(10)
            input.fileHandleForWriting.write(data)
        }

        func stop() {
            input.fileHandleForWriting.write(Data("stop\n".utf8))
        }

        deinit {
            if process.isRunning { process.terminate() }
        }
    }

    override func setUpWithError() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["TB_NETNS"] != nil,
                          "runs inside scripts/netns-run (Tests/interop/test_ice_aioice.py)")
    }

    var localAddress: TransportAddress {
        TransportAddress(host: ProcessInfo.processInfo.environment["TB_ADDR_B"] ?? "10.99.0.2", port: 0)!
    }

    /// Connects our transport in `mode` with aioice in the opposite (or given) role, then
    /// checks 50 datagrams of 1,000 bytes come back through aioice's echo.
    func connect(_ mode: ICETransport.Mode, aioiceControlling: Bool) async throws -> (ICETransport, Peer) {
        let peer = try Peer(controlling: aioiceControlling)
        let transport = try ICETransport(.init(mode: mode, addresses: [localAddress]))
        try await transport.start()
        let offer = try await peer.next()
        let ufrag = try XCTUnwrap(offer["ufrag"] as? String)
        let pwd = try XCTUnwrap(offer["pwd"] as? String)
        let remoteCandidates = try XCTUnwrap(offer["candidates"] as? [String])
        XCTAssertFalse(remoteCandidates.isEmpty)
        let isLite: Bool
        if case .lite = mode { isLite = true } else { isLite = false }
        try peer.send(["ufrag": transport.localUfrag, "pwd": transport.localPwd, "lite": isLite,
                       "candidates": await transport.localCandidates.map(\.sdpValue)])
        await transport.setRemoteCredentials(ufrag: ufrag, pwd: pwd)
        for line in remoteCandidates {
            await transport.addRemoteCandidate(try ICECandidate(parsing: "candidate:" + line))
        }
        try await transport.addRemoteCandidate(ICECandidateInit(candidate: "", sdpMid: "0", sdpMLineIndex: 0))
        let state = await transport.waitForState([.connected, .failed], timeout: .seconds(20))
        XCTAssertEqual(state, .connected)
        let connected = try await peer.next()
        XCTAssertEqual(connected["event"] as? String, "connected")
        // Exactly one side controls once connected.
        let ourRole = await transport.role
        XCTAssertEqual(connected["controlling"] as? Bool, ourRole == .controlled)
        return (transport, peer)
    }

    func assertEcho(_ transport: ICETransport) async throws {
        var iterator = transport.datagrams.makeAsyncIterator()
        var echoed = 0
        for index in 0..<50 {
            let datagram: [UInt8] = [23, 0xFE, 0xFD] + Array(repeating: UInt8(index), count: 997)
            let sent = await transport.send(datagram)
            XCTAssertTrue(sent)
            if await iterator.next() == datagram { echoed += 1 }
        }
        XCTAssertEqual(echoed, 50)
    }

    func testOurControlledAgentWithAioiceControlling() async throws {
        let (transport, peer) = try await connect(.full(role: .controlled), aioiceControlling: true)
        try await assertEcho(transport)
        peer.stop()
        let stopped = try await peer.next()
        XCTAssertEqual(stopped["echoed"] as? Int, 50)
        await transport.close()
    }

    func testOurControllingAgentWithAioiceControlled() async throws {
        let (transport, peer) = try await connect(.full(role: .controlling), aioiceControlling: false)
        try await assertEcho(transport)
        // aioice closes and stops answering: consent expires, we report disconnected (RFC 7675).
        peer.stop()
        _ = try await peer.next()
        let state = await transport.waitForState([.disconnected, .failed], timeout: .seconds(15))
        XCTAssertEqual(state, .disconnected)
        await transport.close()
    }

    func testOurLiteAgentWithAioiceControlling() async throws {
        let (transport, peer) = try await connect(.lite, aioiceControlling: true)
        try await assertEcho(transport)
        peer.stop()
        _ = try await peer.next()
        await transport.close()
    }

    func testRoleConflictBothControlling() async throws {
        // Both start controlling; RFC 8445 §7.3.1.1 settles it by tie-breaker, either way round.
        let (transport, peer) = try await connect(.full(role: .controlling), aioiceControlling: true)
        try await assertEcho(transport)
        peer.stop()
        _ = try await peer.next()
        await transport.close()
    }
}
