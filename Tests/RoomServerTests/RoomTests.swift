import DataTracks
import Foundation
import LiveKitProtocol
import WebRTCData
import XCTest
@testable import RoomServer

/// The room actor without any network: joins, updates, publishing, subscription snapshots and
/// packet forwarding, read from each session's signal outbox and packet queue.
final class RoomTests: XCTestCase {
    // Binding 127.0.0.1:0 cannot fail on a test machine.
    private let factory = try! PeerConnectionFactory(addresses: [IPAddress("127.0.0.1")!], port: 0)

    private func parameters(_ identity: String, room: String = "lab", publishData: Bool? = nil,
                            subscribe: Bool? = nil) -> JoinParameters {
        var grant = VideoGrant(roomJoin: true, room: room)
        grant.canPublishData = publishData
        grant.canSubscribe = subscribe
        let claims = AccessTokenClaims(apiKey: "devkey", identity: identity, expiry: 2_000_000_000, video: grant)
        return JoinParameters(claims: claims, grant: grant, room: room, path: .singlePeerConnection, publisherOffer: nil,
                              clientInfo: Livekit_ClientInfo(), autoSubscribe: true, reconnect: false, metadata: "",
                              attributes: [:])
    }

    /// A joined participant and an iterator over what the server signalled to it.
    private final class Peer {
        let session: ParticipantSession
        var signals: AsyncStream<Livekit_SignalResponse>.Iterator
        init(_ session: ParticipantSession) {
            self.session = session
            signals = session.signals.makeAsyncIterator()
        }

        func next() async -> Livekit_SignalResponse.OneOf_Message? {
            await signals.next()?.message
        }
    }

    private func join(_ room: Room, _ parameters: JoinParameters) async -> Peer {
        let session = ParticipantSession(parameters: parameters, room: room, factory: factory, log: { _ in })
        let joined = await room.join(session, subscriberPrimary: false)
        XCTAssertTrue(joined)
        return Peer(session)
    }

    private func publish(_ room: Room, _ peer: Peer, handle: UInt32, name: String) async {
        var request = Livekit_PublishDataTrackRequest()
        request.pubHandle = handle
        request.name = name
        await room.publishDataTrack(request, from: peer.session.sid)
    }

    private func subscribe(_ room: Room, _ peer: Peer, _ trackSIDs: [String], _ on: Bool = true) async {
        var update = Livekit_UpdateDataSubscription()
        update.updates = trackSIDs.map { sid in
            var item = Livekit_UpdateDataSubscription.Update()
            item.trackSid = sid
            item.subscribe = on
            return item
        }
        await room.updateDataSubscription(update, from: peer.session.sid)
    }

    func testJoinResponseAndUpdatesCarryIdsVersionsAndTracks() async throws {
        let room = Room(name: "lab", server: .make())
        let first = await join(room, parameters("sub1"))
        guard case .join(let join1)? = await first.next() else { return XCTFail("expected join") }
        XCTAssertTrue(join1.room.sid.hasPrefix("RM_"))
        XCTAssertEqual(join1.room.name, "lab")
        XCTAssertTrue(join1.participant.sid.hasPrefix("PA_"))
        XCTAssertEqual(join1.participant.identity, "sub1")
        XCTAssertEqual(join1.participant.state, .joined)
        XCTAssertTrue(join1.participant.permission.canPublishData)
        XCTAssertEqual(join1.pingInterval, 5)
        XCTAssertEqual(join1.pingTimeout, 15)
        XCTAssertFalse(join1.serverVersion.isEmpty)
        XCTAssertTrue(join1.otherParticipants.isEmpty)

        let second = await join(room, parameters("pub1"))
        guard case .join(let join2)? = await second.next() else { return XCTFail("expected join") }
        XCTAssertEqual(join2.otherParticipants.map(\.identity), ["sub1"])
        XCTAssertEqual(join2.room.sid, join1.room.sid)
        guard case .update(let joined)? = await first.next() else { return XCTFail("expected update") }
        XCTAssertEqual(joined.participants.first?.identity, "pub1")
        XCTAssertEqual(joined.participants.first?.state, .active)
        let v1 = joined.participants[0].version

        await publish(room, second, handle: 1, name: "imu")
        guard case .publishDataTrackResponse(let published)? = await second.next() else { return XCTFail("expected 27") }
        XCTAssertTrue(published.info.sid.hasPrefix("DTR_"))
        XCTAssertEqual(published.info.pubHandle, 1)
        guard case .update(let listed)? = await first.next() else { return XCTFail("expected update") }
        XCTAssertEqual(listed.participants[0].dataTracks.map(\.sid), [published.info.sid])
        XCTAssertGreaterThan(listed.participants[0].version, v1)

        // A late joiner sees the track in its join response.
        let late = await join(room, parameters("late"))
        guard case .join(let join3)? = await late.next() else { return XCTFail("expected join") }
        let pubInfo = try XCTUnwrap(join3.otherParticipants.first { $0.identity == "pub1" })
        XCTAssertEqual(pubInfo.dataTracks.map(\.name), ["imu"])
        guard case .update(let lateJoined)? = await first.next() else { return XCTFail("expected update") }
        XCTAssertEqual(lateJoined.participants.first?.identity, "late")

        // Leave: the others see DISCONNECTED with a higher version and no tracks.
        await room.leave(second.session.sid, session: second.session)
        guard case .update(let left)? = await first.next() else { return XCTFail("expected update") }
        XCTAssertEqual(left.participants[0].state, .disconnected)
        XCTAssertTrue(left.participants[0].dataTracks.isEmpty)
        XCTAssertGreaterThan(left.participants[0].version, listed.participants[0].version)
    }

    func testRefusedPublishIsARequestResponse() async {
        let room = Room(name: "lab", server: .make())
        let nodata = await join(room, parameters("nodata", publishData: false))
        _ = await nodata.next()
        await publish(room, nodata, handle: 1, name: "x")
        guard case .requestResponse(let refusal)? = await nodata.next() else { return XCTFail("expected 22") }
        XCTAssertEqual(refusal.reason, .notAllowed)

        let pub = await join(room, parameters("pub"))
        _ = await pub.next()
        await publish(room, pub, handle: 1, name: "imu")
        _ = await pub.next()
        await publish(room, pub, handle: 2, name: "imu")
        guard case .requestResponse(let duplicate)? = await pub.next() else { return XCTFail("expected 22") }
        XCTAssertEqual(duplicate.reason, .duplicateName)
        XCTAssertEqual(duplicate.request, .publishDataTrack({
            var r = Livekit_PublishDataTrackRequest(); r.pubHandle = 2; r.name = "imu"; return r
        }()))
    }

    func testSubscriptionSnapshotsAndForwardingWithHandleRewrite() async throws {
        let room = Room(name: "lab", server: .make())
        let sub = await join(room, parameters("sub"))
        _ = await sub.next()
        let pub = await join(room, parameters("pub"))
        _ = await pub.next()
        _ = await sub.next()  // pub joined
        await publish(room, pub, handle: 5, name: "a")
        guard case .publishDataTrackResponse(let a)? = await pub.next() else { return XCTFail() }
        await publish(room, pub, handle: 9, name: "b")
        guard case .publishDataTrackResponse(let b)? = await pub.next() else { return XCTFail() }
        _ = await sub.next()
        _ = await sub.next()

        // Subscribing to both: a full snapshot with two handles.
        await subscribe(room, sub, [a.info.sid, b.info.sid])
        guard case .dataTrackSubscriberHandles(let both)? = await sub.next() else { return XCTFail("expected 29") }
        XCTAssertEqual(both.subHandles.count, 2)
        let handleA = try XCTUnwrap(both.subHandles.first { $0.value.trackSid == a.info.sid }?.key)
        XCTAssertEqual(both.subHandles[handleA]?.publisherIdentity, "pub")
        XCTAssertEqual(both.subHandles[handleA]?.publisherSid, pub.session.sid)

        // Unsubscribing from b: the snapshot lists only a.
        await subscribe(room, sub, [b.info.sid], false)
        guard case .dataTrackSubscriberHandles(let onlyA)? = await sub.next() else { return XCTFail("expected 29") }
        XCTAssertEqual(onlyA.subHandles.keys.sorted(), [handleA])

        // A packet of track a (handle 5) reaches the subscriber under its handle; only bytes 2-3
        // change. One of track b (no longer subscribed) goes nowhere.
        let packet = DataTrackPacket(header: .init(marker: .single, handle: 5, sequence: 0x1234, frameNumber: 7,
                                                   timestamp: 0xdeadbeef, extensions: .init(userTimestamp: 42)),
                                     payload: [1, 2, 3, 4][...]).encoded()
        await room.forwardDataTrackPacket(packet, from: pub.session.sid)
        var other = packet
        other[3] = 9
        await room.forwardDataTrackPacket(other, from: pub.session.sid)
        XCTAssertEqual(sub.session.dataTrackQueue.count, 1)
        let forwarded = await sub.session.dataTrackQueue.next()
        var expected = packet
        expected[2] = UInt8(handleA >> 8)
        expected[3] = UInt8(handleA & 0xff)
        XCTAssertEqual(forwarded, expected)
        XCTAssertEqual(pub.session.dataTrackQueue.count, 0)

        // Unpublishing a: the subscriber gets an update without it and an empty snapshot.
        var unpublish = Livekit_UnpublishDataTrackRequest()
        unpublish.pubHandle = 5
        await room.unpublishDataTrack(unpublish, from: pub.session.sid)
        guard case .unpublishDataTrackResponse(let gone)? = await pub.next() else { return XCTFail("expected 28") }
        XCTAssertEqual(gone.info.sid, a.info.sid)
        guard case .update(let update)? = await sub.next() else { return XCTFail("expected update") }
        XCTAssertEqual(update.participants[0].dataTracks.map(\.name), ["b"])
        guard case .dataTrackSubscriberHandles(let none)? = await sub.next() else { return XCTFail("expected 29") }
        XCTAssertTrue(none.subHandles.isEmpty)
    }

    func testSameIdentityReplacesTheOldSession() async {
        let room = Room(name: "lab", server: .make())
        let watcher = await join(room, parameters("w"))
        _ = await watcher.next()
        let old = await join(room, parameters("robot"))
        _ = await old.next()
        _ = await watcher.next()
        let new = await join(room, parameters("robot"))
        guard case .join(let join)? = await new.next() else { return XCTFail("expected join") }
        XCTAssertEqual(join.otherParticipants.map(\.identity), ["w"])
        guard case .leave(let leave)? = await old.next() else { return XCTFail("expected leave") }
        XCTAssertEqual(leave.reason, .duplicateIdentity)
        let end = await old.next()
        XCTAssertNil(end)  // the old signal stream finished
        // The old session's late leave does not remove the new one.
        await room.leave(old.session.sid, session: old.session)
        let count = await room.participantCount
        XCTAssertEqual(count, 2)
    }

    func testSubscriberQueueDropsInsteadOfGrowing() async {
        let queue = SubscriberQueue(maximumDelay: .milliseconds(100), maximumBytes: 1000)
        let start = ContinuousClock.now
        XCTAssertTrue(queue.offer([1], now: start))
        XCTAssertTrue(queue.offer([2], now: start + .milliseconds(50)))
        // The oldest has waited more than 100 ms: the subscriber is behind, new packets drop.
        XCTAssertFalse(queue.offer([3], now: start + .milliseconds(101)))
        XCTAssertFalse(queue.offer(Array(repeating: 0, count: 999), now: start + .milliseconds(60)))
        XCTAssertEqual(queue.counters.dropped, 2)
        XCTAssertEqual(queue.count, 2)
        let first = await queue.next()
        XCTAssertEqual(first, [1])
        queue.close()
        let end = await queue.next()
        XCTAssertNil(end)
    }
}
