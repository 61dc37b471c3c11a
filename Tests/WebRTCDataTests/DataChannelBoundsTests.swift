import XCTest
@testable import WebRTCData

/// What a peer can make a data-channel transport hold: every queue between the socket and the
/// reader is bounded and counted, an unread reliable channel is flow-controlled by SCTP (its
/// receive window) instead of buffered, an unread partially reliable one drops, a discarded
/// one costs nothing, and a message over the size limit is dropped whole.
final class DataChannelBoundsTests: XCTestCase {
    struct Pair {
        let client: DataChannelTransport
        let server: DataChannelTransport
        let pumps: [Task<Void, Never>]
    }

    /// A DTLS client and server in memory. `clientBelievesServerTakes` is the max-message-size the
    /// client thinks the server advertised (a lying or broken peer sends more than we take).
    func makePair(clientBelievesServerTakes: Int = 262_144, serverInboundLimit: Int? = nil,
                  serverMaxChannels: Int? = nil) async throws -> Pair {
        let clientCert = try DTLSCertificate()
        let serverCert = try DTLSCertificate()
        let (toServer, toServerSink) = AsyncStream.makeStream(of: [UInt8].self)
        let (toClient, toClientSink) = AsyncStream.makeStream(of: [UInt8].self)
        let client = try DataChannelTransport(role: .client, certificate: clientCert, remoteFingerprint: serverCert.fingerprint,
                                              remoteMaxMessageSize: clientBelievesServerTakes) { toServerSink.yield($0) }
        var limits = DataChannelTransport.Limits()
        if let serverInboundLimit { limits.inboundBytes = serverInboundLimit }
        if let serverMaxChannels { limits.channels = serverMaxChannels }
        let server = try DataChannelTransport(role: .server, certificate: serverCert, remoteFingerprint: clientCert.fingerprint,
                                              limits: limits) { toClientSink.yield($0) }
        let pumps = [
            Task { for await datagram in toServer { await server.receive(datagram) } },
            Task { for await datagram in toClient { await client.receive(datagram) } },
        ]
        await client.start()
        await server.start()
        try await deadline(10) {
            try await connected(client)
            try await connected(server)
        }
        return Pair(client: client, server: server, pumps: pumps)
    }

    /// The client opens `label`; returns (client side, server side).
    func open(_ label: String, on pair: Pair, ordered: Bool = true,
              reliability: DataChannelReliability = .reliable) async throws -> (DataChannel, DataChannel) {
        let local = try await pair.client.createChannel(label: label, ordered: ordered, reliability: reliability)
        let remote = try await deadline(10) { () -> DataChannel in
            try await local.opened()
            var incoming = pair.server.incomingChannels.makeAsyncIterator()
            guard let channel = await incoming.next() else { throw CancellationError() }
            return channel
        }
        XCTAssertEqual(remote.label, label)
        return (local, remote)
    }

    // MARK: - RFC 8841 §6: a message over our max-message-size is dropped whole

    func testAMessageOverTheSizeLimitIsDroppedWholeAndTheNextArrivesIntact() async throws {
        let pair = try await makePair(clientBelievesServerTakes: 1 << 20)
        defer { pair.pumps.forEach { $0.cancel() } }
        let (local, remote) = try await open("big", on: pair)
        // 400,000 bytes: usrsctp hands it over in 64 KiB pieces; the limit (262,144) is crossed
        // on a piece that is not the last, so later pieces must not make a message of their own.
        try await local.send([UInt8](repeating: 0xEE, count: 400_000))
        try await local.send([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        let first = try await deadline(10) { () -> DataChannelMessage? in
            var iterator = remote.messages.makeAsyncIterator()
            return await iterator.next()
        }
        // (Sizes first: a leftover piece of the big message would otherwise print 70 KB.)
        XCTAssertEqual(first?.bytes.count, 10, "the next message, not a piece of the dropped one")
        if first?.bytes.count == 10 { XCTAssertEqual(first, .binary([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])) }
        let rejected = await pair.server.rejectedSCTPMessages
        XCTAssertEqual(rejected, 1)
        await pair.client.close()
    }

    func testAssemblerDropsAnOversizedMessageWholeFedByteByByte() {
        var assembler = SCTPMessageAssembler(limit: 8)
        // 12 bytes in 1-byte pieces: over the limit at the 9th; nothing comes out, one rejection.
        for index in 0 ..< 12 {
            XCTAssertNil(assembler.push([UInt8(index)][...], endOfRecord: index == 11), "piece \(index)")
        }
        XCTAssertEqual(assembler.rejected, 1)
        // The next message, 8 bytes exactly, in pieces of 3: whole.
        let next: [UInt8] = [10, 11, 12, 13, 14, 15, 16, 17]
        XCTAssertNil(assembler.push(next[0 ..< 3], endOfRecord: false))
        XCTAssertNil(assembler.push(next[3 ..< 6], endOfRecord: false))
        XCTAssertEqual(assembler.push(next[6 ..< 8], endOfRecord: true), next)
        // A message that crosses the limit on its last piece is rejected too.
        XCTAssertNil(assembler.push(next[...], endOfRecord: false))
        XCTAssertNil(assembler.push([1][...], endOfRecord: true))
        XCTAssertEqual(assembler.rejected, 2)
        // An empty record (a zero-length read with EOR) after an empty buffer is an empty message.
        XCTAssertEqual(assembler.push([][...], endOfRecord: true), [])
        XCTAssertEqual(assembler.buffered, 0)
    }

    // MARK: - RFC 4960 §6.2: an unread reliable channel is held back by the receive window

    func testAnUnreadReliableChannelStopsTheSenderInsteadOfGrowingTheReceiver() async throws {
        let pair = try await makePair(serverInboundLimit: 1 << 20)
        defer { pair.pumps.forEach { $0.cancel() } }
        let (local, remote) = try await open("unread", on: pair)
        let message = [UInt8](repeating: 0x5A, count: 65_536)
        // Up to 64 MiB while nobody reads: our receive budget (1 MiB), usrsctp's receive buffer
        // and both send buffers fill, then the sender's queue is full and send refuses.
        var accepted = 0
        var refused: WebRTCDataError?
        for _ in 0 ..< 1024 {
            do {
                try await local.send(message)
                accepted += 1
            } catch {
                refused = error
                break
            }
            if accepted % 16 == 0 { try await Task.sleep(for: .milliseconds(5)) }
        }
        XCTAssertNotNil(refused, "the sender's queue is bounded")
        XCTAssertEqual(refused?.reason, .sendBufferFull)
        XCTAssertLessThan(accepted * message.count, 48 << 20, "flow control held the sender back")
        let inbound = await pair.server.inboundBufferedBytes
        XCTAssertLessThanOrEqual(inbound, (1 << 20) + 2 * SCTPAssociation.maxMessageSize)
        // Reliable means reliable: once read, every accepted message arrives, in order, whole.
        let expected = accepted
        let received = try await deadline(60) { () -> Int in
            var count = 0
            for await incoming in remote.messages {
                guard incoming.bytes == message else { break }
                count += 1
                if count == expected { break }
            }
            return count
        }
        XCTAssertEqual(received, accepted)
        let dropped = remote.droppedMessages
        XCTAssertEqual(dropped, 0)
        await pair.client.close()
    }

    /// A partially reliable channel nobody reads drops what does not fit (counted) and never
    /// stalls the association: another channel's messages still arrive.
    func testAnUnreadLossyChannelDropsAndCountsWithoutStallingTheOthers() async throws {
        let pair = try await makePair(serverInboundLimit: 256 << 10)
        defer { pair.pumps.forEach { $0.cancel() } }
        let (lossy, lossyRemote) = try await open("lossy", on: pair, ordered: false, reliability: .maxRetransmits(0))
        let (reliable, reliableRemote) = try await open("reliable", on: pair)
        let message = [UInt8](repeating: 1, count: 16_000)
        for index in 0 ..< 256 {
            try await lossy.send(message)
            if lossy.bufferedAmount > 1 << 20 { await lossy.bufferedAmountLow() }
            if index % 32 == 0 { try await Task.sleep(for: .milliseconds(2)) }
        }
        try await reliable.send([42])
        let arrived = try await deadline(20) { () -> DataChannelMessage? in
            var iterator = reliableRemote.messages.makeAsyncIterator()
            return await iterator.next()
        }
        XCTAssertEqual(arrived, .binary([42]))
        try await deadline(10) {
            while lossyRemote.droppedMessages == 0 { try await Task.sleep(for: .milliseconds(10)) }
        }
        let inbound = await pair.server.inboundBufferedBytes
        XCTAssertLessThanOrEqual(inbound, 256 << 10)
        await pair.client.close()
    }

    /// A channel its owner will never read: every message is dropped as it arrives, so the
    /// sender is never held back and nothing accumulates.
    func testADiscardedChannelCostsNothingAndCountsWhatItDropped() async throws {
        let pair = try await makePair(serverInboundLimit: 1 << 20)
        defer { pair.pumps.forEach { $0.cancel() } }
        let (local, remote) = try await open("ignored", on: pair)
        remote.discardIncomingMessages()
        let message = [UInt8](repeating: 3, count: 65_536)
        let total = 256  // 16 MiB: far over the 1 MiB budget, so only discarding lets it through
        for _ in 0 ..< total {
            try await local.send(message)
            if local.bufferedAmount > 2 << 20 { await local.bufferedAmountLow() }
        }
        try await deadline(30) {
            while remote.droppedMessages < total { try await Task.sleep(for: .milliseconds(10)) }
        }
        XCTAssertEqual(remote.droppedMessages, total)
        let inbound = await pair.server.inboundBufferedBytes
        XCTAssertEqual(inbound, 0)
        await pair.client.close()
    }

    /// Messages left unread when a channel closes stop counting against the budget (the reader
    /// may still drain them), so a closed channel cannot stall the others.
    func testMessagesOfAClosedChannelStillReadableAndReleasedFromTheBudget() async throws {
        let pair = try await makePair(serverInboundLimit: 256 << 10)
        defer { pair.pumps.forEach { $0.cancel() } }
        let (local, remote) = try await open("closing", on: pair)
        for index in 0 ..< 4 { try await local.send([UInt8](repeating: UInt8(index), count: 1000)) }
        try await deadline(10) {
            while await pair.server.inboundBufferedBytes < 4000 { try await Task.sleep(for: .milliseconds(5)) }
        }
        await local.close()
        try await deadline(10) {
            while remote.state != .closed { try await Task.sleep(for: .milliseconds(5)) }
        }
        let inbound = await pair.server.inboundBufferedBytes
        XCTAssertEqual(inbound, 0)
        var sizes: [Int] = []
        for await message in remote.messages { sizes.append(message.bytes.count) }
        XCTAssertEqual(sizes, [1000, 1000, 1000, 1000])
        await pair.client.close()
    }

    // MARK: - Channels a peer may open

    /// 1024 streams each way, as libwebrtc: usrsctp keeps state for every negotiated stream
    /// from the start, ~7 MiB per connection at RFC 8831's 65535.
    func testTheAssociationNegotiates1024StreamsEachWay() async throws {
        let pair = try await makePair()
        defer { pair.pumps.forEach { $0.cancel() } }
        let server = await pair.server.negotiatedStreams
        let client = await pair.client.negotiatedStreams
        XCTAssertEqual(server?.inbound, 1024)
        XCTAssertEqual(server?.outbound, 1024)
        XCTAssertEqual(client?.inbound, 1024)
        XCTAssertEqual(client?.outbound, 1024)
        await pair.client.close()
    }

    func testChannelsBeyondTheLimitAreRefusedByAStreamReset() async throws {
        let pair = try await makePair(serverMaxChannels: 3)
        defer { pair.pumps.forEach { $0.cancel() } }
        var opened: [DataChannel] = []
        for index in 0 ..< 3 {
            let (_, remote) = try await open("c\(index)", on: pair)
            opened.append(remote)
        }
        let accepted = opened
        let extra = try await pair.client.createChannel(label: "one-too-many")
        // The server answers the open with a reset: the client's channel closes.
        try await deadline(10) {
            while extra.state != .closed { try await Task.sleep(for: .milliseconds(10)) }
        }
        let refused = await pair.server.refusedChannels
        XCTAssertEqual(refused, 1)
        // Closing one makes room for another.
        await accepted[0].close()
        try await deadline(10) {
            while accepted[0].state != .closed { try await Task.sleep(for: .milliseconds(10)) }
        }
        let (_, again) = try await open("again", on: pair)
        XCTAssertEqual(again.state, .open)
        await pair.client.close()
    }
}

/// The queue between ICE's receive thread and DTLS: everything at once, bounded in bytes.
final class DatagramQueueTests: XCTestCase {
    func testHandsOverBatchesAndDropsWhatExceedsTheByteLimit() async {
        let queue = DatagramQueue<[UInt8]>(byteLimit: 1000, overhead: 0) { $0.count }
        for index in 0 ..< 12 { queue.push([UInt8](repeating: UInt8(index), count: 100)) }
        XCTAssertEqual(queue.counters.dropped, 2)
        XCTAssertEqual(queue.counters.droppedBytes, 200)
        let batch = await queue.nextBatch()
        XCTAssertEqual(batch?.count, 10)
        XCTAssertEqual(batch?.last?.first, 9, "the oldest stay, the new ones are dropped")
        // Room again once taken.
        XCTAssertTrue(queue.push([1]))
        queue.finish()
        let last = await queue.nextBatch()
        XCTAssertEqual(last, [[1]])
        let end = await queue.nextBatch()
        XCTAssertNil(end)
        XCTAssertFalse(queue.push([2]), "nothing is taken after finish")
    }

    func testEmptyDatagramsAreChargedTheirOverhead() {
        let queue = DatagramQueue<[UInt8]>(byteLimit: 640, overhead: 64) { $0.count }
        for _ in 0 ..< 20 { queue.push([]) }
        XCTAssertEqual(queue.counters.dropped, 10)
    }

    func testAWaitingConsumerGetsTheDatagramAtOnce() async throws {
        let queue = DatagramQueue<[UInt8]>(byteLimit: 10, overhead: 0) { $0.count }
        let consumer = Task { await queue.nextBatch() }
        try await Task.sleep(for: .milliseconds(50))
        // Larger than the limit, but nothing waits in the queue: it goes straight over.
        XCTAssertTrue(queue.push([UInt8](repeating: 7, count: 50)))
        let batch = await consumer.value
        XCTAssertEqual(batch?.first?.count, 50)
    }
}

private func connected(_ transport: DataChannelTransport) async throws {
    for await state in transport.stateChanges {
        switch state {
        case .connected: return
        case .failed(let error): throw error
        case .closed: throw WebRTCDataError(.dataChannel, .notOpen, "transport", expected: "connected", found: "closed")
        default: continue
        }
    }
}

private func deadline<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
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
