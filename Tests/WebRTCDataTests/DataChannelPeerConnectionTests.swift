import Foundation
import XCTest
@testable import WebRTCData

/// Two PeerConnections over real UDP sockets on 127.0.0.1: SDP offer/answer, ICE, DTLS, SCTP.
final class DataChannelPeerConnectionTests: XCTestCase {
    private func loopback() -> PeerConnection.Configuration {
        PeerConnection.Configuration(addresses: [TransportAddress(ip: IPAddress("127.0.0.1")!, port: 0)])
    }

    private func connect(offerer: PeerConnection, answerer: PeerConnection) async throws {
        let offer = try await offerer.createOffer()
        try await answerer.setRemoteDescription(offer)
        let answer = try await answerer.createAnswer()
        try await offerer.setRemoteDescription(answer)
        try await peerDeadline(15) {
            for pc in [offerer, answerer] {
                for await state in pc.connectionStates {
                    if state == .connected { break }
                    if state == .failed || state == .closed { throw WebRTCDataError(.peerConnection, .timeout, at: "connect", "\(state)") }
                }
            }
        }
    }

    private func exchange(_ a: PeerConnection, _ b: PeerConnection, preCreated: DataChannel? = nil) async throws {
        let reliable = try await a.createDataChannel("reliable")
        let lossy = try await a.createDataChannel("lossy", ordered: false, maxRetransmits: 0)
        var incoming = b.incomingDataChannels.makeAsyncIterator()
        var remote: [String: DataChannel] = [:]
        try await peerDeadline(10) {
            try await reliable.opened()
            try await lossy.opened()
        }
        while remote.count < 2, let channel = await incoming.next() {
            if channel.label != "early" { remote[channel.label] = channel }
        }
        let sizes = [1, 1000, 16_000, 65_536]
        for (label, sender) in [("reliable", reliable), ("lossy", lossy)] {
            let receiver = try XCTUnwrap(remote[label])
            for size in sizes { try await sender.send([UInt8](repeating: UInt8(size % 256), count: size)) }
            try await receiver.send("echo")
            let got = try await peerDeadline(10) { () -> [Int] in
                var sizesSeen: [Int] = []
                for await message in receiver.messages {
                    sizesSeen.append(message.bytes.count)
                    if sizesSeen.count == sizes.count { break }
                }
                return sizesSeen
            }
            XCTAssertEqual(got.sorted(), sizes, label)
            var back = sender.messages.makeAsyncIterator()
            let echo = await back.next()
            XCTAssertEqual(echo, .text("echo"))
        }
        await reliable.close()
        let remoteReliable = try XCTUnwrap(remote["reliable"])
        try await peerDeadline(10) {
            for await _ in remoteReliable.messages {}
        }
        XCTAssertEqual(remote["reliable"]?.state, .closed)
    }

    func testSwiftOffererToSwiftAnswererOverLoopback() async throws {
        let offerer = try PeerConnection(loopback())
        let answerer = try PeerConnection(loopback())
        // A channel created before negotiation is opened once SCTP is up.
        let early = try await offerer.createDataChannel("early")
        try await connect(offerer: offerer, answerer: answerer)
        try await peerDeadline(10) { try await early.opened() }
        XCTAssertEqual(early.id.map { $0 % 2 }, 1, "the offerer answered actpass→active is the DTLS server: odd ids")
        try await exchange(offerer, answerer)
        try await exchange(answerer, offerer)
        // Closing one side (SCTP ABORT, DTLS close_notify) closes the other.
        await offerer.close()
        let answererState = try await peerDeadline(10) { () -> PeerConnectionState in
            for await state in answerer.connectionStates where state == .closed { return state }
            return await answerer.connectionState
        }
        XCTAssertEqual(answererState, .closed)
        await answerer.close()
    }

    /// A fingerprint in the offer that is not the offerer's certificate: ICE connects, DTLS
    /// must not (RFC 8122 §5), and both connections end failed.
    func testFingerprintMismatchFailsTheConnection() async throws {
        let offerer = try PeerConnection(loopback())
        let answerer = try PeerConnection(loopback())
        let channel = try await offerer.createDataChannel("never")
        let impostor = try DTLSCertificate()
        let offer = try await offerer.createOffer()
        let forged = offer.replacingOccurrences(of: offerer.certificate.fingerprint.description,
                                                with: impostor.fingerprint.description)
        XCTAssertNotEqual(forged, offer)
        try await answerer.setRemoteDescription(forged)
        try await offerer.setRemoteDescription(try await answerer.createAnswer())
        for pc in [answerer, offerer] {
            let final = try await peerDeadline(15) { () -> PeerConnectionState? in
                var last: PeerConnectionState?
                for await state in pc.connectionStates {
                    last = state
                    if state == .failed || state == .closed || state == .connected { break }
                }
                return last
            }
            XCTAssertEqual(final, .failed)
        }
        do {
            try await channel.opened()
            XCTFail("a channel opened over an unauthenticated peer")
        } catch {}
        await offerer.close()
        await answerer.close()
    }

    /// Candidates only by trickle: both descriptions lose their candidate lines, and each side's
    /// `localCandidates` events (as JSON) go to the other's `addRemoteCandidate`.
    func testTrickledCandidatesConnect() async throws {
        let offerer = try PeerConnection(loopback())
        let answerer = try PeerConnection(loopback())
        func stripCandidates(_ sdp: String) -> String {
            sdp.split(separator: "\r\n", omittingEmptySubsequences: false)
                .filter { !$0.hasPrefix("a=candidate:") && !$0.hasPrefix("a=end-of-candidates") }
                .joined(separator: "\r\n")
        }
        let offer = try await offerer.createOffer()
        XCTAssertTrue(offer.contains("a=candidate:"))
        try await answerer.setRemoteDescription(stripCandidates(offer))
        let answer = try await answerer.createAnswer()
        try await offerer.setRemoteDescription(stripCandidates(answer))
        for (from, to) in [(offerer, answerer), (answerer, offerer)] {
            var sawEnd = false
            var count = 0
            for await candidate in from.localCandidates {
                let relayed = try ICECandidateInit(json: candidate.json())
                XCTAssertEqual(relayed.sdpMid, "0")
                try await to.addRemoteCandidate(relayed)
                if candidate.isEndOfCandidates { sawEnd = true; break }
                count += 1
            }
            XCTAssertTrue(sawEnd)
            XCTAssertGreaterThan(count, 0)
        }
        try await peerDeadline(15) {
            for pc in [offerer, answerer] {
                for await state in pc.connectionStates where state == .connected { break }
            }
        }
        let channel = try await offerer.createDataChannel("after-trickle")
        try await peerDeadline(10) { try await channel.opened() }
        await offerer.close()
        await answerer.close()
    }

    func testSwiftToSwiftWithALiteAnswerer() async throws {
        let offerer = try PeerConnection(loopback())
        var liteConfiguration = loopback()
        liteConfiguration.iceLite = true
        liteConfiguration.preferredSetup = .passive
        let answerer = try PeerConnection(liteConfiguration)
        try await connect(offerer: offerer, answerer: answerer)
        try await exchange(offerer, answerer)
        await offerer.close()
        await answerer.close()
    }
}

func peerDeadline<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        guard let first = try await group.next(), let value = first else {
            group.cancelAll()
            throw WebRTCDataError(.peerConnection, .timeout, at: "test", "not done within \(seconds) s")
        }
        group.cancelAll()
        return value
    }
}
