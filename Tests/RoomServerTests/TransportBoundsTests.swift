import DataTracks
import Foundation
import LiveKitProtocol
import WebRTCData
import XCTest
@testable import RoomServer

/// What a participant can make the server hold through its peer connections: channels the
/// server does not serve and data written into the server's own subscriber channels are
/// discarded as they arrive; a subscriber's queues drop by their rule instead of growing.
/// Live sessions over 127.0.0.1 (a WebRTCData client against the session's real connections).
final class TransportBoundsTests: XCTestCase {
    private let factory = try! PeerConnectionFactory(addresses: [IPAddress("127.0.0.1")!], port: 0)
    private let loopback = TransportAddress(ip: IPAddress("127.0.0.1")!, port: 0)

    private struct Timeout: Error {}

    /// A participant with `roomJoin` only: no publish grants at all.
    private func parameters(_ identity: String, path: JoinParameters.Path) -> JoinParameters {
        let grant = VideoGrant(roomJoin: true, room: "lab", canPublish: false, canPublishData: false)
        let claims = AccessTokenClaims(apiKey: "devkey", identity: identity, expiry: 2_000_000_000, video: grant)
        return JoinParameters(claims: claims, grant: grant, room: "lab", path: path, publisherOffer: nil,
                              clientInfo: Livekit_ClientInfo(), autoSubscribe: true, reconnect: false, metadata: "",
                              attributes: [:])
    }

    private func within<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                throw Timeout()
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw Timeout() }
            return first
        }
    }

    /// The next signal response of `session` that `pick` accepts (what the WebSocket writer
    /// would send, decoded).
    private func next<T>(_ session: ParticipantSession,
                         _ pick: (Livekit_SignalResponse.OneOf_Message) -> T?) async -> T? {
        while let bytes = await session.outbox.next() {
            if let message = (try? Livekit_SignalResponse(serializedBytes: bytes))?.message,
               let value = pick(message) { return value }
        }
        return nil
    }

    /// Streams `total` 64 KiB messages into `channel`, waiting whenever 2 MiB are unsent.
    private static func stream(_ total: Int, into channel: DataChannel) async throws {
        let message = [UInt8](repeating: 0xAB, count: 65_536)
        for _ in 0 ..< total {
            try await channel.send(message)
            if channel.bufferedAmount > 2 << 20 { await channel.bufferedAmountLow() }
        }
    }

    func testAChannelWithALabelTheServerIgnoresIsDiscardedAsItArrives() async throws {
        let room = ServerRoom(name: "lab", server: .make())
        let session = ParticipantSession(parameters: parameters("attacker", path: .singlePeerConnection), room: room,
                                         factory: factory)
        let joined = await room.join(session, subscriberPrimary: false)
        XCTAssertTrue(joined)

        let client = try PeerConnection(.init(addresses: [loopback]))
        defer { Task { await client.close() } }
        let ignored = try await client.createDataChannel("lossy")
        var offer = Livekit_SessionDescription()
        offer.type = "offer"
        offer.sdp = try await client.createOffer()
        offer.id = 1
        var request = Livekit_SignalRequest()
        request.message = .offer(offer)
        await session.handle(request)
        let answer = await next(session) { if case .answer(let answer) = $0 { answer } else { nil } }
        try await client.setRemoteDescription(try XCTUnwrap(answer).sdp)
        try await within(15) { try await ignored.opened() }

        // 16 MiB: four times what the server would buffer unread before holding the sender.
        let total = 256
        try await within(60) { try await Self.stream(total, into: ignored) }
        let statistics = try await within(30) { () -> PeerConnection.Statistics in
            while true {
                if let publisher = await session.transportStatistics().publisher, publisher.droppedMessages >= total {
                    return publisher
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        XCTAssertEqual(statistics.droppedMessages, total)
        XCTAssertEqual(statistics.inboundBufferedBytes, 0)
        XCTAssertEqual(statistics.receivePauses, 0, "a discarded channel never holds the connection back")
        await session.left()
    }

    func testWhatAClientSendsOnItsSubscriberConnectionIsDiscarded() async throws {
        let room = ServerRoom(name: "lab", server: .make())
        let session = ParticipantSession(parameters: parameters("attacker", path: .dualPeerConnection), room: room,
                                         factory: factory)
        let joined = await room.join(session, subscriberPrimary: session.subscriberPrimary)
        XCTAssertTrue(joined)
        await session.start()
        let offer = await next(session) { if case .offer(let offer) = $0 { offer } else { nil } }
        let subscriberOffer = try XCTUnwrap(offer)

        let client = try PeerConnection(.init(addresses: [loopback]))
        defer { Task { await client.close() } }
        try await client.setRemoteDescription(subscriberOffer.sdp)
        var answer = Livekit_SessionDescription()
        answer.type = "answer"
        answer.sdp = try await client.createAnswer()
        answer.id = subscriberOffer.id
        var request = Livekit_SignalRequest()
        request.message = .answer(answer)
        await session.handle(request)

        // The server's own `_reliable` there, and a channel the client opens itself.
        let serverReliable = try await within(15) { () -> DataChannel in
            for await channel in client.incomingDataChannels where channel.label == DataLane.reliable.label {
                try await channel.opened()
                return channel
            }
            throw Timeout()
        }
        let own = try await client.createDataChannel("evil")
        try await within(15) { try await own.opened() }
        try await within(60) {
            try await Self.stream(96, into: serverReliable)
            try await Self.stream(96, into: own)
        }
        let statistics = try await within(30) { () -> PeerConnection.Statistics in
            while true {
                if let subscriber = await session.transportStatistics().subscriber, subscriber.droppedMessages >= 192 {
                    return subscriber
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        XCTAssertEqual(statistics.droppedMessages, 192)
        XCTAssertEqual(statistics.inboundBufferedBytes, 0)
        await session.left()
    }

    /// DataPackets for a subscriber wait in a queue per lane with a stated bound; tiny packets
    /// are charged their bookkeeping too, so a flood of them is bounded as well.
    func testDataPacketQueuesAreBoundedPerLaneAndCountTheirDrops() {
        let reliable = DataLane.reliable.queue()
        let start = ContinuousClock.now
        var accepted = 0
        for _ in 0 ..< 200_000 where reliable.offer([1], now: start) { accepted += 1 }
        XCTAssertLessThan(accepted, (4 << 20) / SubscriberQueue.entryOverhead + 1)
        XCTAssertEqual(reliable.counters.dropped, 200_000 - accepted)
        // The lossy lane drops once its oldest packet is 100 ms old.
        let lossy = DataLane.lossy.queue()
        XCTAssertTrue(lossy.offer([1], now: start))
        XCTAssertTrue(lossy.offer([2], now: start + .milliseconds(100)))
        XCTAssertFalse(lossy.offer([3], now: start + .milliseconds(101)))
        // The reliable lane waits up to 5 s.
        let slow = DataLane.reliable.queue()
        XCTAssertTrue(slow.offer([1], now: start))
        XCTAssertTrue(slow.offer([2], now: start + .seconds(4)))
        XCTAssertFalse(slow.offer([3], now: start + .milliseconds(5001)))
    }

    func testTinyPacketsCannotFillADataTrackQueueByTheMillion() {
        let queue = SubscriberQueue(maximumDelay: .seconds(3600), maximumBytes: 64 << 10)
        let now = ContinuousClock.now
        for _ in 0 ..< 100_000 { queue.offer([7], now: now) }
        XCTAssertLessThanOrEqual(queue.count, (64 << 10) / (1 + SubscriberQueue.entryOverhead))
        XCTAssertEqual(queue.counters.dropped, 100_000 - queue.count)
    }

    /// The server's subscriber agent checks only candidates its policy accepts: running on
    /// loopback alone it may check loopback ones, on any other address it refuses them.
    func testTheFactoryRefusesLoopbackCandidatesUnlessItRunsOnLoopbackOnly() {
        XCTAssertTrue(RemoteCandidatePolicy.server(boundTo: factory.boundAddresses).allowLoopback)
        let mixed = [TransportAddress(host: "10.99.0.1", port: 7882)!, TransportAddress(host: "127.0.0.1", port: 7882)!]
        XCTAssertFalse(RemoteCandidatePolicy.server(boundTo: mixed).allowLoopback)
    }
}
