import XCTest
@testable import WebRTCData

/// DTLS client ↔ DTLS server in memory with SCTP (usrsctp) and DCEP over them: no sockets.
final class DataChannelTransportTests: XCTestCase {
    /// Two transports whose datagrams are carried to each other in order by two tasks.
    struct Pair {
        let client: DataChannelTransport
        let server: DataChannelTransport
        let pumps: [Task<Void, Never>]
        /// Datagrams each way, for asserting on the wire.
        let counters: DatagramCounter
    }

    final class DatagramCounter: @unchecked Sendable {
        private let lock = NSLock()
        private var sizes: [Int] = []
        func add(_ size: Int) { lock.lock(); sizes.append(size); lock.unlock() }
        var largest: Int { lock.lock(); defer { lock.unlock() }; return sizes.max() ?? 0 }
    }

    /// With `batches`, the client's packets that leave together go through `sendBatch`, and
    /// each batch's size is recorded there.
    func makePair(maxMessageSize: Int = 262_144, batches: DatagramCounter? = nil) throws -> Pair {
        let clientCert = try DTLSCertificate()
        let serverCert = try DTLSCertificate()
        let (toServer, toServerSink) = AsyncStream.makeStream(of: [UInt8].self)
        let (toClient, toClientSink) = AsyncStream.makeStream(of: [UInt8].self)
        let counter = DatagramCounter()
        let sendBatch = batches.map { batches in
            { @Sendable (datagrams: [[UInt8]]) in
                batches.add(datagrams.count)
                for datagram in datagrams {
                    counter.add(datagram.count)
                    toServerSink.yield(datagram)
                }
            }
        }
        let client = try DataChannelTransport(role: .client, certificate: clientCert, remoteFingerprint: serverCert.fingerprint,
                                              remoteMaxMessageSize: maxMessageSize, sendBatch: sendBatch) { datagram in
            counter.add(datagram.count)
            toServerSink.yield(datagram)
        }
        let server = try DataChannelTransport(role: .server, certificate: serverCert, remoteFingerprint: clientCert.fingerprint,
                                              remoteMaxMessageSize: maxMessageSize) { datagram in
            counter.add(datagram.count)
            toClientSink.yield(datagram)
        }
        let pumps = [
            Task { for await datagram in toServer { await server.receive(datagram) } },
            Task { for await datagram in toClient { await client.receive(datagram) } },
        ]
        return Pair(client: client, server: server, pumps: pumps, counters: counter)
    }

    func testChannelsBothWaysWithMessagesFromOneByteTo64KiBAndCloseFromBothSides() async throws {
        let pair = try makePair()
        defer { pair.pumps.forEach { $0.cancel() } }
        await pair.client.start()
        await pair.server.start()
        try await withDeadline(10) {
            try await waitConnected(pair.client)
            try await waitConnected(pair.server)
        }

        // Each side opens a reliable and an unordered maxRetransmits 0 channel (docs/WIRE.md).
        let clientReliable = try await pair.client.createChannel(label: "reliable-c")
        let clientLossy = try await pair.client.createChannel(label: "lossy-c", ordered: false, reliability: .maxRetransmits(0))
        let serverReliable = try await pair.server.createChannel(label: "reliable-s", protocol: "p1")
        let serverLossy = try await pair.server.createChannel(label: "lossy-s", ordered: false, reliability: .maxRetransmits(0))
        // A pre-negotiated channel on both sides with the same id (no DCEP).
        let clientNegotiated = try await pair.client.createChannel(label: "neg", negotiatedID: 100)
        let serverNegotiated = try await pair.server.createChannel(label: "neg", negotiatedID: 100)

        let opened = try await withDeadline(10) { () -> [String: DataChannel] in
            for channel in [clientReliable, clientLossy, serverReliable, serverLossy, clientNegotiated, serverNegotiated] {
                try await channel.opened()
            }
            var remote: [String: DataChannel] = [:]
            var serverIncoming = pair.server.incomingChannels.makeAsyncIterator()
            var clientIncoming = pair.client.incomingChannels.makeAsyncIterator()
            for _ in 0 ..< 2 {
                if let channel = await serverIncoming.next() { remote["server:" + channel.label] = channel }
                if let channel = await clientIncoming.next() { remote["client:" + channel.label] = channel }
            }
            return remote
        }
        // Stream ids by DTLS role (RFC 8832 §6): client even, server odd.
        XCTAssertEqual(clientReliable.id.map { $0 % 2 }, 0)
        XCTAssertEqual(clientLossy.id.map { $0 % 2 }, 0)
        XCTAssertEqual(serverReliable.id.map { $0 % 2 }, 1)
        XCTAssertEqual(serverLossy.id.map { $0 % 2 }, 1)
        XCTAssertEqual(clientNegotiated.id, 100)

        let remoteOfClientReliable = try XCTUnwrap(opened["server:reliable-c"])
        let remoteOfClientLossy = try XCTUnwrap(opened["server:lossy-c"])
        let remoteOfServerReliable = try XCTUnwrap(opened["client:reliable-s"])
        let remoteOfServerLossy = try XCTUnwrap(opened["client:lossy-s"])
        XCTAssertTrue(remoteOfClientReliable.ordered)
        XCTAssertEqual(remoteOfClientReliable.reliability, .reliable)
        XCTAssertFalse(remoteOfClientLossy.ordered)
        XCTAssertEqual(remoteOfClientLossy.maxRetransmits, 0)
        XCTAssertEqual(remoteOfServerReliable.protocol, "p1")
        XCTAssertEqual(remoteOfClientReliable.id, clientReliable.id)

        let sizes = [1, 2, 13, 100, 1000, 1151, 1200, 4096, 16_000, 16_384, 65_535, 65_536]

        let pairs: [(DataChannel, DataChannel, Bool)] = [
            (clientReliable, remoteOfClientReliable, true), (clientLossy, remoteOfClientLossy, false),
            (serverReliable, remoteOfServerReliable, true), (serverLossy, remoteOfServerLossy, false),
            (clientNegotiated, serverNegotiated, true), (serverNegotiated, clientNegotiated, true),
        ]
        try await withDeadline(30) {
            for (index, (sender, receiver, ordered)) in pairs.enumerated() {
                var expected: [DataChannelMessage] = sizes.map { .binary(payload($0, index)) }
                expected += [.text("héllo"), .text(""), .binary([])]
                for message in expected {
                    switch message {
                    case .text(let text): try await sender.send(text)
                    case .binary(let bytes): try await sender.send(bytes)
                    }
                }
                var received: [DataChannelMessage] = []
                var iterator = receiver.messages.makeAsyncIterator()
                while received.count < expected.count, let message = await iterator.next() { received.append(message) }
                if ordered {
                    XCTAssertEqual(received, expected, "channel \(sender.label)")
                } else {
                    XCTAssertEqual(received.map(\.bytes).sorted { $0.lexicographicallyPrecedes($1) },
                                   expected.map(\.bytes).sorted { $0.lexicographicallyPrecedes($1) }, "channel \(sender.label)")
                }
            }
        }
        XCTAssertLessThanOrEqual(pair.counters.largest, 1200, "every DTLS datagram fits the 1200-byte MTU")

        // A message above the peer's max-message-size is refused locally with a typed error.
        do {
            try await clientReliable.send([UInt8](repeating: 1, count: 262_145))
            XCTFail("oversized message was accepted")
        } catch {
            XCTAssertEqual(error.layer, .dataChannel)
        }

        // Close from both sides: the client closes its reliable channel, the server its lossy one;
        // the stream reset reaches the other end, whose channel closes and whose messages end.
        await clientReliable.close()
        await serverLossy.close()
        try await withDeadline(10) {
            for channel in [remoteOfClientReliable, remoteOfServerLossy, clientReliable, serverLossy] {
                for await _ in channel.messages {}
                XCTAssertEqual(channel.state, .closed, channel.label)
            }
        }
        // The other channels still work after those closes.
        try await clientLossy.send([9, 9, 9])
        let afterClose = try await withDeadline(5) {
            var iterator = remoteOfClientLossy.messages.makeAsyncIterator()
            return await iterator.next()
        }
        XCTAssertEqual(afterClose, .binary([9, 9, 9]))

        await pair.client.close()
        try await withDeadline(5) {
            for await _ in remoteOfServerReliable.messages {}
            for await _ in serverReliable.messages {}
        }
        let serverState = await pair.server.state
        XCTAssertEqual(serverState, .closed, "close_notify or ABORT closed the server side too")
    }

    func testBufferedAmountDrainsToTheLowWaterMark() async throws {
        let pair = try makePair()
        defer { pair.pumps.forEach { $0.cancel() } }
        await pair.client.start()
        await pair.server.start()
        try await withDeadline(10) {
            try await waitConnected(pair.client)
            try await waitConnected(pair.server)
        }
        let channel = try await pair.client.createChannel(label: "bulk")
        try await withDeadline(10) { try await channel.opened() }
        var incoming = pair.server.incomingChannels.makeAsyncIterator()
        let first = await incoming.next()
        let remote = try XCTUnwrap(first)
        channel.bufferedAmountLowThreshold = 64 * 1024
        let lowCalls = DatagramCounter()
        channel.setOnBufferedAmountLow { lowCalls.add(1) }
        // 8 MiB in 64 KiB messages: more than usrsctp's 4 MiB send buffer takes at once.
        let message = [UInt8](repeating: 7, count: 65_536)
        let total = 128
        let receiver = Task {
            var count = 0
            for await received in remote.messages {
                guard received.bytes.count == message.count else { break }
                count += 1
                if count == total { break }
            }
            return count
        }
        var sawBuffered = false
        for _ in 0 ..< total {
            try await channel.send(message)
            sawBuffered = sawBuffered || channel.bufferedAmount > 0
            if channel.bufferedAmount > 1024 * 1024 { await channel.bufferedAmountLow() }
        }
        let received = try await withDeadline(30) { await receiver.value }
        XCTAssertEqual(received, total)
        XCTAssertTrue(sawBuffered, "some messages waited in our queue")
        XCTAssertEqual(channel.bufferedAmount, 0)
        XCTAssertGreaterThan(lowCalls.largest, 0, "the low-water callback ran")
        await pair.client.close()
        await pair.server.close()
    }

    func testPacketsOfOneMessageLeaveInOneBatch() async throws {
        let batches = DatagramCounter()
        let pair = try makePair(batches: batches)
        defer { pair.pumps.forEach { $0.cancel() } }
        await pair.client.start()
        await pair.server.start()
        try await withDeadline(10) {
            try await waitConnected(pair.client)
            try await waitConnected(pair.server)
        }
        let channel = try await pair.client.createChannel(label: "bulk", ordered: false, reliability: .maxRetransmits(0))
        try await withDeadline(10) { try await channel.opened() }
        var incoming = pair.server.incomingChannels.makeAsyncIterator()
        let first = await incoming.next()
        let remote = try XCTUnwrap(first)
        // 16,000 bytes is 15 DATA chunks of ≤ 1200-byte datagrams; the initial congestion
        // window (10 MTUs, docs/WIRE.md) lets about 10 go in the first flush.
        let message = payload(16_000, 3)
        try await channel.send(message)
        let received = try await withDeadline(10) { () -> [UInt8]? in
            for await received in remote.messages { return received.bytes }
            return nil
        }
        XCTAssertEqual(received, message)
        XCTAssertGreaterThanOrEqual(batches.largest, 8, "the message's packets left together")
        await pair.client.close()
        await pair.server.close()
    }

    func testGarbageDatagramsAreCountedAndTheAssociationSurvives() async throws {
        let pair = try makePair()
        defer { pair.pumps.forEach { $0.cancel() } }
        await pair.client.start()
        await pair.server.start()
        try await withDeadline(10) {
            try await waitConnected(pair.client)
            try await waitConnected(pair.server)
        }
        for garbage: [UInt8] in [[0x16], [0x17, 0xFE, 0xFD, 0, 0], [0xFF, 0xFF, 0xFF, 0xFF]] {
            await pair.server.receive(garbage)
        }
        let rejected = await pair.server.rejectedDTLSDatagrams
        XCTAssertEqual(rejected, 3)
        let channel = try await pair.client.createChannel(label: "after-garbage")
        try await withDeadline(10) { try await channel.opened() }
        let state = await pair.server.state
        XCTAssertEqual(state, .connected)
        await pair.client.close()
        await pair.server.close()
    }
}

private func waitConnected(_ transport: DataChannelTransport) async throws {
    for await state in transport.stateChanges {
        switch state {
        case .connected: return
        case .failed(let error): throw error
        case .closed: throw WebRTCDataError(.dataChannel, .notOpen, "transport", expected: "connected", found: "closed")
        default: continue
        }
    }
}

/// Runs `body` with a deadline so a stuck association fails the test instead of hanging it.
private func withDeadline<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        guard let first = try await group.next(), let value = first else {
            group.cancelAll()
            throw WebRTCDataError(.dataChannel, .timeout, "test", expected: "done within \(seconds) s", found: "timeout")
        }
        group.cancelAll()
        return value
    }
}


private func payload(_ size: Int, _ seed: Int) -> [UInt8] { (0 ..< size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) } }
