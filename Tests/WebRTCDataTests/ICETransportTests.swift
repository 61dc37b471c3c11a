import XCTest
@testable import WebRTCData

/// ICE over real UDP sockets on 127.0.0.1 (loopback only; live tests with other addresses run
/// in the namespace made by scripts/netns-run).
final class ICETransportTests: XCTestCase {
    func loopback() -> [TransportAddress] { [TransportAddress(host: "127.0.0.1", port: 0)!] }

    func exchange(_ a: ICETransport, _ b: ICETransport) async throws {
        await a.setRemoteCredentials(ufrag: b.localUfrag, pwd: b.localPwd)
        await b.setRemoteCredentials(ufrag: a.localUfrag, pwd: a.localPwd)
        for candidate in await b.localCandidates {
            // Through the trickle JSON form, as LiveKit signaling carries it.
            try await a.addRemoteCandidate(ICECandidateInit(json: ICECandidateInit(candidate, sdpMid: "0", sdpMLineIndex: 0).json()))
        }
        for candidate in await a.localCandidates { await b.addRemoteCandidate(candidate) }
    }

    /// The next datagram `transport` hands upward, or nil after `timeout` (bounded, never hangs).
    func nextDatagram(_ transport: ICETransport, timeout: Duration = .seconds(3)) async -> [UInt8]? {
        await withTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                var iterator = transport.datagrams.makeAsyncIterator()
                return await iterator.next()
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    func assertDataFlows(_ a: ICETransport, _ b: ICETransport) async throws {
        // First byte 23: a DTLS application_data record as far as RFC 7983 demultiplexing goes.
        let record: [UInt8] = [23, 0xFE, 0xFD] + (0..<1200).map { UInt8(truncatingIfNeeded: $0) }
        let sentA = await a.send(record)
        XCTAssertTrue(sentA)
        let atB = await nextDatagram(b)
        XCTAssertEqual(atB, record)
        let reply: [UInt8] = [23, 0xFE, 0xFD, 1, 2, 3]
        let sentB = await b.send(reply)
        XCTAssertTrue(sentB)
        let atA = await nextDatagram(a)
        XCTAssertEqual(atA, reply)
        // Something that is neither STUN nor DTLS is dropped and counted, not delivered.
        _ = await a.send([0x80, 0, 0, 0])
        try await Task.sleep(for: .milliseconds(50))
        let counters = await b.counters
        XCTAssertEqual(counters.unknownProtocol, 1)
    }

    func testFullControllingToLiteOverLoopback() async throws {
        let full = try ICETransport(.init(mode: .full(role: .controlling), addresses: loopback()))
        let lite = try ICETransport(.init(mode: .lite, addresses: loopback()))
        try await full.start()
        try await lite.start()
        try await exchange(full, lite)
        let fullState = await full.waitForState([.connected, .failed], timeout: .seconds(5))
        let liteState = await lite.waitForState([.connected, .failed], timeout: .seconds(5))
        XCTAssertEqual(fullState, .connected)
        XCTAssertEqual(liteState, .connected)
        let pair = await full.selectedPair
        let liteAddress = await lite.boundAddresses.first
        XCTAssertEqual(pair?.remote, liteAddress)
        try await assertDataFlows(full, lite)
        await full.close()
        await lite.close()
        let closed = await full.state
        XCTAssertEqual(closed, .closed)
    }

    func testFullToFullOverLoopback() async throws {
        let a = try ICETransport(.init(mode: .full(role: .controlling), addresses: loopback()))
        let b = try ICETransport(.init(mode: .full(role: .controlled), addresses: loopback()))
        try await a.start()
        try await b.start()
        try await exchange(a, b)
        let stateA = await a.waitForState([.connected, .failed], timeout: .seconds(5))
        let stateB = await b.waitForState([.connected, .failed], timeout: .seconds(5))
        XCTAssertEqual(stateA, .connected)
        XCTAssertEqual(stateB, .connected)
        try await assertDataFlows(a, b)
        await a.close()
        await b.close()
    }

    func testFullToLiteOverIPv6Loopback() async throws {
        let v6 = [TransportAddress(host: "::1", port: 0)!]
        let full: ICETransport
        do { full = try ICETransport(.init(mode: .full(role: .controlling), addresses: v6)) } catch {
            throw XCTSkip("no IPv6 loopback here: \(error)")
        }
        let lite = try ICETransport(.init(mode: .lite, addresses: v6))
        try await full.start()
        try await lite.start()
        try await exchange(full, lite)
        let state = await full.waitForState([.connected, .failed], timeout: .seconds(5))
        XCTAssertEqual(state, .connected)
        let pair = await full.selectedPair
        XCTAssertEqual(pair?.remote.ip, IPAddress("::1"))
        try await assertDataFlows(full, lite)
        await full.close()
        await lite.close()
    }

    func testGarbageFromAStrangerIsCountedAndTheConnectionKeepsWorking() async throws {
        let full = try ICETransport(.init(mode: .full(role: .controlling), addresses: loopback()))
        let lite = try ICETransport(.init(mode: .lite, addresses: loopback()))
        try await full.start()
        try await lite.start()
        try await exchange(full, lite)
        let state = await lite.waitForState([.connected, .failed], timeout: .seconds(5))
        XCTAssertEqual(state, .connected)
        let bound = await lite.boundAddresses
        let target = try XCTUnwrap(bound.first)
        let stranger = try UDPSocket(binding: TransportAddress(host: "127.0.0.1", port: 0)!)
        var generator = SystemRandomNumberGenerator()
        // 200 datagrams: truncated STUN headers, STUN with random attribute soup, random DTLS-range bytes.
        for index in 0..<200 {
            var datagram = (0..<Int.random(in: 1...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            switch index % 3 {
            case 0: datagram[0] = 0
            case 1: datagram = [0, 1, 0, 8, 0x21, 0x12, 0xA4, 0x42] + Array(repeating: 7, count: 12) + [0, 6, 0, 40, 1, 2, 3, 4]
            default: datagram[0] = 23
            }
            stranger.send(datagram, to: target)
        }
        try await Task.sleep(for: .milliseconds(200))
        let counters = await lite.counters
        XCTAssertGreaterThan(counters.malformed + counters.unauthenticated, 0)
        XCTAssertGreaterThan(counters.unknownSource, 0)
        let liteState = await lite.state
        XCTAssertEqual(liteState, .connected)
        try await assertDataFlows(full, lite)
        await full.close()
        await lite.close()
    }

    func testSocketsGetLargeBuffersAndBindTheGivenAddress() throws {
        let socket = try UDPSocket(binding: TransportAddress(host: "127.0.0.1", port: 0)!)
        XCTAssertEqual(socket.localAddress.ip, IPAddress("127.0.0.1"))
        XCTAssertNotEqual(socket.localAddress.port, 0)
        // Linux reports twice the size set; as root SO_RCVBUFFORCE gets the full 4 MiB.
        if getuid() == 0 { XCTAssertGreaterThanOrEqual(socket.receiveBufferSize, 4 << 20) }
        XCTAssertThrowsError(try UDPSocket(binding: TransportAddress(host: "192.0.2.1", port: 0)!)) {
            XCTAssertEqual(($0 as? WebRTCDataError)?.layer, .transport)
        }
    }

    func testInterfaceEnumerationSkipsLoopbackUnlessAsked() {
        let without = NetworkInterfaces.addresses(includeLoopback: false)
        XCTAssertFalse(without.contains { $0.ip.isLoopback })
        let with = NetworkInterfaces.addresses(includeLoopback: true)
        XCTAssertTrue(with.contains { $0.ip == IPAddress("127.0.0.1") })
        XCTAssertFalse(with.contains { $0.ip.isLinkLocal })
    }
}

/// The server's shared port: many lite transports on one UDP socket (ICEUDPMux).
final class ICEUDPMuxTests: XCTestCase {
    func testTwoLiteTransportsShareOnePort() async throws {
        let mux = try ICEUDPMux(addresses: [TransportAddress(host: "127.0.0.1", port: 0)!])
        defer { mux.close() }
        let port = mux.boundAddresses[0]
        var servers: [ICETransport] = []
        var clients: [ICETransport] = []
        for _ in 0..<2 {
            let server = try ICETransport(.init(mode: .lite, addresses: [], mux: mux))
            let client = try ICETransport(.init(mode: .full(role: .controlling), addresses: [TransportAddress(host: "127.0.0.1", port: 0)!]))
            try await server.start()
            try await client.start()
            await server.setRemoteCredentials(ufrag: client.localUfrag, pwd: client.localPwd)
            await client.setRemoteCredentials(ufrag: server.localUfrag, pwd: server.localPwd)
            // Both servers advertise the same port.
            let candidates = await server.localCandidates
            XCTAssertEqual(candidates.map(\.transportAddress), [port])
            for candidate in candidates { await client.addRemoteCandidate(candidate) }
            servers.append(server)
            clients.append(client)
        }
        for index in 0..<2 {
            let clientState = await clients[index].waitForState([.connected, .failed], timeout: .seconds(5))
            let serverState = await servers[index].waitForState([.connected, .failed], timeout: .seconds(5))
            XCTAssertEqual(clientState, .connected)
            XCTAssertEqual(serverState, .connected)
        }
        // Each client's data reaches its own server only.
        for index in 0..<2 {
            let payload: [UInt8] = [23, 0xFE, 0xFD, UInt8(index)]
            let sent = await clients[index].send(payload)
            XCTAssertTrue(sent)
        }
        try await Task.sleep(for: .milliseconds(100))
        for index in 0..<2 {
            let delivered = await servers[index].delivered
            XCTAssertEqual(delivered, 1)
            // And the server answers through the shared socket.
            let replied = await servers[index].send([23, 0xFE, 0xFD, 0xAA])
            XCTAssertTrue(replied)
        }
        try await Task.sleep(for: .milliseconds(100))
        for client in clients {
            let delivered = await client.delivered
            XCTAssertEqual(delivered, 1)
        }
        // A second transport with a ufrag already routed on this port is refused.
        do {
            let clash = try ICETransport(.init(mode: .lite, addresses: [], localUfrag: servers[1].localUfrag, mux: mux))
            do {
                try await clash.start()
                XCTFail("duplicate ufrag accepted")
            } catch {
                XCTAssertEqual(error.layer, .transport)
            }
            await clash.close()
        }
        // …and its going away does not take the route of the transport that owns the ufrag.
        // A stranger's datagram is counted, not delivered to anyone.
        let stranger = try UDPSocket(binding: TransportAddress(host: "127.0.0.1", port: 0)!)
        stranger.send([23, 0xFE, 0xFD, 9], to: port)
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertEqual(mux.unroutedCount, 1)
        // Closing one transport leaves the other working.
        await servers[0].close()
        let sent = await clients[1].send([23, 0xFE, 0xFD, 1])
        XCTAssertTrue(sent)
        try await Task.sleep(for: .milliseconds(100))
        let stillDelivered = await servers[1].delivered
        XCTAssertEqual(stillDelivered, 2)
        for transport in servers + clients { await transport.close() }
    }
}
