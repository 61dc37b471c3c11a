import XCTest
@testable import WebRTCData

/// Two usrsctp associations wired to each other in memory (no DTLS): packets are moved by hand,
/// so every step is deterministic apart from usrsctp's own timers.
final class SCTPTests: XCTestCase {
    /// Moves packets both ways until both sides are quiet; returns the events seen on each.
    private func pump(_ a: SCTPAssociation, _ b: SCTPAssociation, rounds: Int = 200) async -> (a: [SCTPEvent], b: [SCTPEvent]) {
        var eventsA: [SCTPEvent] = []
        var eventsB: [SCTPEvent] = []
        var quiet = 0
        for _ in 0 ..< rounds {
            a.service()
            b.service()
            let fromA = a.outgoingPackets()
            let fromB = b.outgoingPackets()
            for packet in fromA { b.receive(packet) }
            for packet in fromB { a.receive(packet) }
            eventsA += a.events()
            eventsB += b.events()
            if fromA.isEmpty && fromB.isEmpty {
                quiet += 1
                if quiet > 3 { break }
                try? await Task.sleep(for: .milliseconds(5))
            } else {
                quiet = 0
            }
        }
        return (eventsA, eventsB)
    }

    func testAssociationCarriesMessagesAndRejectsMalformedPackets() async throws {
        let a = try SCTPAssociation()
        let b = try SCTPAssociation()
        try a.connect()
        try b.connect()
        let up = await pump(a, b)
        XCTAssertTrue(up.a.contains(.connected))
        XCTAssertTrue(up.b.contains(.connected))

        // Every packet usrsctp produced carried a checksum our validator accepts.
        XCTAssertEqual(a.rejectedPackets, 0)
        XCTAssertEqual(b.rejectedPackets, 0)

        // Malformed input: each is rejected with a reason and counted; nothing reaches usrsctp.
        let captured = await capturedPacket(from: a, to: b)
        let valid = try XCTUnwrap(captured)
        var badChecksum = valid
        badChecksum[8] ^= 0xFF
        var badChunkLength = valid
        badChunkLength[14] = 0xFF
        badChunkLength[15] = 0xFF
        let malformed: [([UInt8], WebRTCDataError.Reason)] = [
            ([], .truncated),
            (Array(valid.prefix(13)), .truncated),
            (badChunkLength, .badLength),
            (badChecksum, .badChecksum),
            (valid + [0x00, 0x00], .truncated),
        ]
        for (index, (packet, reason)) in malformed.enumerated() {
            b.receive(packet)
            XCTAssertEqual(b.rejectedPackets, index + 1)
            XCTAssertEqual(b.lastRejection?.reason, reason, "case \(index)")
        }

        // The association still works: a PR-SCTP unordered message and a reliable one.
        try a.send(SCTPMessage(stream: 2, payloadProtocol: .binary, payload: [1, 2, 3], ordered: false,
                               reliability: .maxRetransmits(0)))
        try a.send(SCTPMessage(stream: 4, payloadProtocol: .string, payload: Array("hi".utf8)))
        let after = await pump(a, b)
        let messages = after.b.compactMap { if case .message(let m) = $0, m.stream != 0 { m } else { nil } }
        XCTAssertEqual(messages.map(\.payload).sorted { $0.count < $1.count }, [Array("hi".utf8), [1, 2, 3]])
        XCTAssertEqual(messages.first { $0.stream == 2 }?.ordered, false)
        XCTAssertEqual(messages.first { $0.stream == 4 }?.payloadProtocol, .string)

        // Stream reset (RFC 6525) reaches the peer as an incoming reset.
        // The peer applies it once every TSN before the request arrived, so this waits for the
        // retransmission of the packet held back above.
        a.resetStream(4)
        var resetSeen = false
        let deadline = ContinuousClock.now + .seconds(5)
        while !resetSeen, ContinuousClock.now < deadline {
            resetSeen = await pump(a, b).b.contains(.incomingStreamsReset([4]))
        }
        XCTAssertTrue(resetSeen)
        a.close()
        b.close()
    }

    /// However large the congestion window grows on a fast path, at most `chunksInFlightLimit`
    /// DATA chunks are in flight, so a receiver that stops reading (descheduled, its socket
    /// filling) holds at most that many of our datagrams: libwebrtc's socket holds ~90 before
    /// the kernel drops. The rest waits in our queue and goes, in order, once it reads again.
    func testChunksInFlightStayWithinTheBoundWhateverTheWindow() async throws {
        let a = try SCTPAssociation()
        let b = try SCTPAssociation()
        try a.connect()
        try b.connect()
        _ = await pump(a, b)
        let message = [UInt8](repeating: 7, count: 16_000)
        let offered = 256  // 4 MB: enough round trips for slow start to open the window wide
        for _ in 0 ..< offered {
            try a.send(SCTPMessage(stream: 2, payloadProtocol: .binary, payload: message, ordered: false,
                                   reliability: .maxRetransmits(0)))
        }
        var delivered = 0
        var mostInFlight = 0
        var held: [[UInt8]] = []
        var stalledRounds = 0
        for _ in 0 ..< 4_000 where delivered < offered {
            a.service()
            b.service()
            mostInFlight = max(mostInFlight, a.chunksInFlight)
            let fromA = a.outgoingPackets()
            // Half way, the receiver stalls for ten rounds: what arrives is held, not read.
            if delivered >= offered / 2, stalledRounds < 10 {
                stalledRounds += 1
                held += fromA
                continue
            }
            for packet in held + fromA { b.receive(packet) }
            held = []
            for packet in b.outgoingPackets() { a.receive(packet) }
            delivered += b.events().count { if case .message = $0 { true } else { false } }
            _ = a.events()
        }
        print("most chunks in flight: \(mostInFlight)")
        XCTAssertEqual(delivered, offered)
        XCTAssertGreaterThan(mostInFlight, 8)
        XCTAssertLessThanOrEqual(mostInFlight, SCTPAssociation.chunksInFlightLimit)
        a.close()
        b.close()
    }

    /// A frame after a spell of small messages goes in one flight. usrsctp's default burst
    /// limit (4) cut the congestion window back to flight + 4 MTUs whenever a small message
    /// went out with room to spare, so a 40 KB frame (36 DATA chunks) left 4 or 5 chunks at a
    /// time, one round trip (one SACK) apart. With the limit at `chunksInFlightLimit`, the
    /// window slow start opened stays open.
    func testALargeMessageAfterSmallOnesGoesInOneFlight() async throws {
        let a = try SCTPAssociation()
        let b = try SCTPAssociation()
        try a.connect()
        try b.connect()
        _ = await pump(a, b)
        func message(_ size: Int) -> SCTPMessage {
            SCTPMessage(stream: 2, payloadProtocol: .binary, payload: [UInt8](repeating: 5, count: size), ordered: false,
                        reliability: .maxRetransmits(0))
        }
        // Slow start opens the window on a few frames, then small messages keep the flight near zero.
        for _ in 0 ..< 4 {
            try a.send(message(40_000))
            _ = await pump(a, b)
        }
        for _ in 0 ..< 5 {
            try a.send(message(64))
            _ = await pump(a, b)
        }
        try a.send(message(40_000))
        let flight = a.outgoingPackets().reduce(0) { $0 + Self.dataChunkCount($1) }
        let chunks = (40_000 + SCTPAssociation.singlePacketPayload - 1) / SCTPAssociation.singlePacketPayload
        XCTAssertGreaterThanOrEqual(flight, chunks - 1, "DATA chunks sent before any SACK")
        a.close()
        b.close()
    }

    /// A packet with DATA is acknowledged at once, not after usrsctp's delayed-SACK timer (20 ms
    /// on a 10 ms tick): a peer's sender that waits on that SACK would stall for its length.
    func testOneDataPacketIsAcknowledgedAtOnce() async throws {
        let a = try SCTPAssociation()
        let b = try SCTPAssociation()
        try a.connect()
        try b.connect()
        _ = await pump(a, b)
        for round in 0 ..< 3 {
            try a.send(SCTPMessage(stream: 2, payloadProtocol: .binary, payload: [UInt8(round)], ordered: false,
                                   reliability: .maxRetransmits(0)))
            let packets = a.outgoingPackets()
            XCTAssertEqual(packets.reduce(0) { $0 + Self.dataChunkCount($1) }, 1)
            for packet in packets { b.receive(packet) }
            let answers = b.outgoingPackets()
            XCTAssertTrue(answers.contains { Self.chunkTypes($0).contains(SCTPSackCoalescing.sackChunkType) },
                          "round \(round): no SACK right after the DATA packet")
            for packet in answers { a.receive(packet) }
            _ = a.outgoingPackets()
            _ = b.events()
        }
        a.close()
        b.close()
    }

    /// Chunk types in one SCTP packet, in order.
    private static func chunkTypes(_ packet: [UInt8]) -> [UInt8] {
        var offset = 12
        var types: [UInt8] = []
        while offset + 4 <= packet.count {
            types.append(packet[offset])
            let length = Int(packet[offset + 2]) << 8 | Int(packet[offset + 3])
            guard length >= 4 else { break }
            offset += (length + 3) & ~3
        }
        return types
    }

    /// DATA chunks (type 0, RFC 4960 §3.3.1) in one SCTP packet.
    private static func dataChunkCount(_ packet: [UInt8]) -> Int {
        var offset = 12
        var count = 0
        while offset + 4 <= packet.count {
            if packet[offset] == 0 { count += 1 }
            let length = Int(packet[offset + 2]) << 8 | Int(packet[offset + 3])
            guard length >= 4 else { break }
            offset += (length + 3) & ~3
        }
        return count
    }

    /// A well-formed packet from `a` (a heartbeat or SACK produced by sending a message), not
    /// delivered.
    private func capturedPacket(from a: SCTPAssociation, to b: SCTPAssociation) async -> [UInt8]? {
        try? a.send(SCTPMessage(stream: 0, payloadProtocol: .binary, payload: [9]))
        let packets = a.outgoingPackets()
        for packet in packets.dropFirst() { b.receive(packet) }
        return packets.first
    }
}
