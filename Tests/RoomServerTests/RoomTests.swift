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
                            subscribe: Bool? = nil, hidden: Bool? = nil, updateMetadata: Bool? = nil,
                            kind: String? = nil, clientVersion: String = "") -> JoinParameters {
        var grant = VideoGrant(roomJoin: true, room: room)
        grant.canPublishData = publishData
        grant.canSubscribe = subscribe
        grant.hidden = hidden
        grant.canUpdateOwnMetadata = updateMetadata
        let claims = AccessTokenClaims(apiKey: "devkey", identity: identity, expiry: 2_000_000_000, kind: kind, video: grant)
        var client = Livekit_ClientInfo()
        client.version = clientVersion
        return JoinParameters(claims: claims, grant: grant, room: room, path: .singlePeerConnection, publisherOffer: nil,
                              clientInfo: client, autoSubscribe: true, reconnect: false, metadata: "",
                              attributes: [:])
    }

    /// A joined participant and an iterator over what the server signalled to it.
    private final class Peer {
        let session: ParticipantSession
        init(_ session: ParticipantSession) {
            self.session = session
        }

        func next() async -> Livekit_SignalResponse.OneOf_Message? {
            // What the WebSocket writer would send, decoded (nil once the outbox finished).
            guard let bytes = await session.outbox.next() else { return nil }
            return try? Livekit_SignalResponse(serializedBytes: bytes).message
        }
    }

    private func join(_ room: ServerRoom, _ parameters: JoinParameters) async -> Peer {
        let session = ParticipantSession(parameters: parameters, room: room, factory: factory)
        let joined = await room.join(session, subscriberPrimary: false)
        XCTAssertTrue(joined)
        return Peer(session)
    }

    private func publish(_ room: ServerRoom, _ peer: Peer, handle: UInt32, name: String) async {
        var request = Livekit_PublishDataTrackRequest()
        request.pubHandle = handle
        request.name = name
        await room.publishDataTrack(request, from: peer.session.sid)
    }

    private func subscribe(_ room: ServerRoom, _ peer: Peer, _ trackSIDs: [String], _ on: Bool = true) async {
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
        let room = ServerRoom(name: "lab", server: .make())
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
        let room = ServerRoom(name: "lab", server: .make())
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
        let room = ServerRoom(name: "lab", server: .make())
        let sub = await join(room, parameters("sub"))
        _ = await sub.next()
        let pub = await join(room, parameters("pub"))
        _ = await pub.next()
        _ = await sub.next()  // pub joined
        await publish(room, pub, handle: 5, name: "a")
        guard case .publishDataTrackResponse(let a)? = await pub.next() else { return XCTFail() }
        await publish(room, pub, handle: 9, name: "b")
        guard case .publishDataTrackResponse(let b)? = await pub.next() else { return XCTFail() }
        // The sub read nothing in between: the second update replaced the first (SignalOutbox).
        guard case .update(let listed)? = await sub.next() else { return XCTFail("expected update") }
        XCTAssertEqual(listed.participants[0].dataTracks.map(\.name), ["a", "b"])

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

    /// A trackbag publisher hears of every new subscriber to its data track (TrackSubscribed, after
    /// the subscriber's handles went out), so it can resend latched state; an SDK publisher, which
    /// reads TrackSubscribed as a media track's, hears nothing; a repeated or refused subscribe
    /// is not a new subscriber.
    func testNewDataTrackSubscriberIsAnnouncedToATrackbagPublisherOnly() async {
        let room = ServerRoom(name: "lab", server: .make())
        let player = await join(room, parameters("player", clientVersion: "trackbag-0.1"))
        let sdk = await join(room, parameters("sdk", clientVersion: "1.2.1"))
        await publish(room, player, handle: 1, name: "map")
        await publish(room, sdk, handle: 1, name: "imu")
        let viewer = await join(room, parameters("viewer"))
        let second = await join(room, parameters("second"))
        let blind = await join(room, parameters("blind", subscribe: false))
        let peers = [player, sdk, viewer, second, blind]
        var sids: [String: String] = [:]
        for peer in [player, sdk] {
            for message in await queued(peer) {
                if case .publishDataTrackResponse(let published) = message { sids[published.info.name] = published.info.sid }
            }
        }
        guard let map = sids["map"], let imu = sids["imu"] else { return XCTFail("tracks not published: \(sids)") }
        for peer in peers { _ = await queued(peer) }

        await subscribe(room, viewer, [map, imu])
        let toViewer = await queued(viewer), toPlayer = await queued(player)
        XCTAssertEqual(toViewer.count, 1)
        XCTAssertEqual(toPlayer.map(Self.subscribedSid), [map])
        assertNothingQueued(sdk)

        // Subscribing again to what it has: no new subscriber.
        await subscribe(room, viewer, [map])
        _ = await queued(viewer)
        assertNothingQueued(player)
        // A second viewer is one more.
        await subscribe(room, second, [map])
        let again = await queued(player)
        XCTAssertEqual(again.map(Self.subscribedSid), [map])
        // One without the subscribe grant gets no route, so it is nobody's subscriber.
        await subscribe(room, blind, [map])
        assertNothingQueued(player)
    }

    /// What the server queued for `peer` so far, read without waiting for more.
    private func queued(_ peer: Peer) async -> [Livekit_SignalResponse.OneOf_Message] {
        var messages: [Livekit_SignalResponse.OneOf_Message] = []
        while peer.session.outbox.counters.messages > 0, let message = await peer.next() { messages.append(message) }
        return messages
    }

    private static func subscribedSid(_ message: Livekit_SignalResponse.OneOf_Message) -> String? {
        if case .trackSubscribed(let subscribed) = message { return subscribed.trackSid }
        return nil
    }

    func testSameIdentityReplacesTheOldSession() async {
        let room = ServerRoom(name: "lab", server: .make())
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

    // MARK: - Signal load

    /// Nothing queued for this peer right now (the room never awaits a session, so whatever a
    /// room call sent is already in the outbox when it returns).
    private func assertNothingQueued(_ peer: Peer, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(peer.session.outbox.counters.messages, 0, file: file, line: line)
    }

    func testPublishBurstCostsASlowReaderOnePendingUpdateAndTheFinalState() async {
        let room = ServerRoom(name: "lab", server: .make())
        let slow = await join(room, parameters("slow"))
        _ = await slow.next()
        let pub = await join(room, parameters("pub"))
        _ = await pub.next()
        // 2,000 publishes then 2,000 unpublishes; the slow member reads nothing meanwhile.
        for handle in 1...2000 { await publish(room, pub, handle: UInt32(handle), name: "track-\(handle)") }
        XCTAssertEqual(slow.session.outbox.counters.messages, 1, "one pending update about pub")
        for handle in 1...2000 {
            var request = Livekit_UnpublishDataTrackRequest()
            request.pubHandle = UInt32(handle)
            await room.unpublishDataTrack(request, from: pub.session.sid)
        }
        await publish(room, pub, handle: 7, name: "final")
        XCTAssertEqual(slow.session.outbox.counters.messages, 1)
        guard case .update(let update)? = await slow.next() else { return XCTFail("expected update") }
        XCTAssertEqual(update.participants.map(\.identity), ["pub"])
        XCTAssertEqual(update.participants[0].dataTracks.map(\.name), ["final"])
        assertNothingQueued(slow)
    }

    func testDataTrackLimitIsLimitExceeded() async {
        let room = ServerRoom(name: "lab", server: .make())
        let pub = await join(room, parameters("pub"))
        _ = await pub.next()
        let limit = DataTrackPublishCheck.maximumTracksPerParticipant
        for handle in 1...limit {
            await publish(room, pub, handle: UInt32(handle), name: "t\(handle)")
            guard case .publishDataTrackResponse? = await pub.next() else { return XCTFail("expected 27 for \(handle)") }
        }
        await publish(room, pub, handle: UInt32(limit + 1), name: "one-too-many")
        guard case .requestResponse(let refusal)? = await pub.next() else { return XCTFail("expected 22") }
        XCTAssertEqual(refusal.reason, .limitExceeded)
        XCTAssertTrue(refusal.message.contains("\(limit)"), refusal.message)
        // Unpublishing one makes room for one.
        var request = Livekit_UnpublishDataTrackRequest()
        request.pubHandle = 1
        await room.unpublishDataTrack(request, from: pub.session.sid)
        _ = await pub.next()
        await publish(room, pub, handle: UInt32(limit + 1), name: "one-too-many")
        guard case .publishDataTrackResponse? = await pub.next() else { return XCTFail("expected 27") }
    }

    // MARK: - Hidden participants

    func testHiddenParticipantIsLeftOutOfJoinResponsesAndUpdates() async {
        let room = ServerRoom(name: "lab", server: .make())
        let visible = await join(room, parameters("visible"))
        _ = await visible.next()
        let ghost = await join(room, parameters("ghost", hidden: true))
        guard case .join(let ghostJoin)? = await ghost.next() else { return XCTFail("expected join") }
        XCTAssertEqual(ghostJoin.otherParticipants.map(\.identity), ["visible"], "a hidden participant sees the others")
        XCTAssertTrue(ghostJoin.participant.permission.hidden)
        assertNothingQueued(visible)
        let late = await join(room, parameters("late"))
        guard case .join(let lateJoin)? = await late.next() else { return XCTFail("expected join") }
        XCTAssertEqual(lateJoin.otherParticipants.map(\.identity), ["visible"])
        guard case .update(let lateJoined)? = await ghost.next() else { return XCTFail("the ghost sees the late joiner") }
        XCTAssertEqual(lateJoined.participants.map(\.identity), ["late"])
        _ = await visible.next()  // late joined
        // Its publish and its leave reach nobody.
        await publish(room, ghost, handle: 1, name: "hidden-track")
        guard case .publishDataTrackResponse? = await ghost.next() else { return XCTFail("expected 27") }
        await room.leave(ghost.session.sid, session: ghost.session)
        assertNothingQueued(visible)
        assertNothingQueued(late)
    }

    func testHiddenParticipantsMetadataChangeGoesToItselfOnly() async {
        let room = ServerRoom(name: "lab", server: .make())
        let visible = await join(room, parameters("visible"))
        _ = await visible.next()
        let ghost = await join(room, parameters("ghost", hidden: true, updateMetadata: true))
        _ = await ghost.next()
        var update = Livekit_UpdateParticipantMetadata()
        update.attributes = ["k": "v"]
        update.requestID = 9
        await room.updateMetadata(update, from: ghost.session.sid)
        guard case .update(let own)? = await ghost.next() else { return XCTFail("expected its own update") }
        XCTAssertEqual(own.participants.first?.attributes, ["k": "v"])
        guard case .requestResponse(let answer)? = await ghost.next() else { return XCTFail("expected 22") }
        XCTAssertEqual(answer.requestID, 9)
        assertNothingQueued(visible)
    }

    // MARK: - Metadata

    func testUpdateMetadataWithTheGrantReachesEveryoneThenAnswers() async {
        let room = ServerRoom(name: "lab", server: .make())
        let watcher = await join(room, parameters("watcher"))
        _ = await watcher.next()
        let player = await join(room, parameters("player", updateMetadata: true))
        guard case .join(let joined)? = await player.next() else { return XCTFail("expected join") }
        _ = await watcher.next()
        var update = Livekit_UpdateParticipantMetadata()
        update.name = "Player One"
        update.metadata = "m1"
        update.attributes = ["playback": "playing", "t": "1.5"]
        update.requestID = 41
        await room.updateMetadata(update, from: player.session.sid)
        guard case .update(let seen)? = await watcher.next() else { return XCTFail("expected update") }
        XCTAssertEqual(seen.participants[0].name, "Player One")
        XCTAssertEqual(seen.participants[0].metadata, "m1")
        XCTAssertEqual(seen.participants[0].attributes, ["playback": "playing", "t": "1.5"])
        XCTAssertGreaterThan(seen.participants[0].version, joined.participant.version)
        guard case .update(let own)? = await player.next() else { return XCTFail("the player gets its own update") }
        XCTAssertEqual(own.participants[0], seen.participants[0])
        guard case .requestResponse(let answer)? = await player.next() else { return XCTFail("expected 22") }
        XCTAssertEqual(answer.reason, .ok)
        XCTAssertEqual(answer.requestID, 41)
        XCTAssertEqual(answer.request, .updateMetadata(update))

        // An empty value deletes; an unchanged request broadcasts nothing but is answered.
        var delete = Livekit_UpdateParticipantMetadata()
        delete.attributes = ["t": ""]
        delete.requestID = 42
        await room.updateMetadata(delete, from: player.session.sid)
        guard case .update(let afterDelete)? = await watcher.next() else { return XCTFail("expected update") }
        XCTAssertEqual(afterDelete.participants[0].attributes, ["playback": "playing"])
        _ = await player.next()
        _ = await player.next()
        await room.updateMetadata(delete, from: player.session.sid)
        guard case .requestResponse(let again)? = await player.next() else { return XCTFail("expected 22") }
        XCTAssertEqual(again.requestID, 42)
        assertNothingQueued(watcher)
    }

    func testUpdateMetadataWithoutTheGrantIsRefused() async {
        let room = ServerRoom(name: "lab", server: .make())
        let watcher = await join(room, parameters("watcher"))
        _ = await watcher.next()
        let plain = await join(room, parameters("plain"))
        _ = await plain.next()
        _ = await watcher.next()
        var update = Livekit_UpdateParticipantMetadata()
        update.attributes = ["x": "1"]
        update.requestID = 3
        await room.updateMetadata(update, from: plain.session.sid)
        guard case .requestResponse(let refusal)? = await plain.next() else { return XCTFail("expected 22") }
        XCTAssertEqual(refusal.reason, .notAllowed)
        XCTAssertEqual(refusal.message, "does not have permission to update own metadata")
        XCTAssertEqual(refusal.requestID, 3)
        assertNothingQueued(watcher)
        assertNothingQueued(plain)
    }

    // MARK: - Data packets

    private func dataPacket(_ configure: (inout Livekit_DataPacket) -> Void) -> [UInt8] {
        var packet = Livekit_DataPacket()
        configure(&packet)
        return (try? packet.serializedBytes()) ?? []
    }

    private func userPacket(_ payload: String, destinations: [String] = [], sids: [String] = [],
                            sequence: UInt32 = 0, nonce: Data = Data()) -> [UInt8] {
        dataPacket { packet in
            packet.destinationIdentities = destinations
            packet.sequence = sequence
            var user = Livekit_UserPacket()
            user.payload = Data(payload.utf8)
            user.destinationSids = sids
            user.nonce = nonce
            packet.user = user
        }
    }

    func testDataPacketAddressingAndDropsAreCounted() async {
        let room = ServerRoom(name: "lab", server: .make())
        let alice = await join(room, parameters("alice"))
        let bob = await join(room, parameters("bob"))
        // livekit-server delivers data packets whatever the recipient's canSubscribe.
        let carol = await join(room, parameters("carol", subscribe: false))
        let mute = await join(room, parameters("mute", publishData: false))
        let tally = alice.session.dataPacketTally

        await room.forwardDataPacket(userPacket("all"), lane: .reliable, from: alice.session.sid)
        XCTAssertEqual(tally.counts.deliveries, 3, "bob, carol and mute; never the sender")
        await room.forwardDataPacket(userPacket("to-bob", destinations: ["bob"]), lane: .lossy, from: alice.session.sid)
        XCTAssertEqual(tally.counts.deliveries, 4)
        await room.forwardDataPacket(userPacket("to-carol-by-sid", sids: [carol.session.sid]), lane: .reliable,
                                     from: alice.session.sid)
        XCTAssertEqual(tally.counts.deliveries, 5)
        XCTAssertEqual(tally.counts.relayed, 3)

        // A reliable sequence not above the last one is a repeat; lossy packets carry none.
        await room.forwardDataPacket(userPacket("s5", sequence: 5), lane: .reliable, from: alice.session.sid)
        await room.forwardDataPacket(userPacket("s5-again", sequence: 5), lane: .reliable, from: alice.session.sid)
        await room.forwardDataPacket(userPacket("s4", sequence: 4), lane: .reliable, from: alice.session.sid)
        await room.forwardDataPacket(userPacket("s6", sequence: 6), lane: .reliable, from: alice.session.sid)
        // A 16-byte nonce seen recently in the room is a repeat, whoever sends it.
        let nonce = Data((0..<16).map { UInt8($0) })
        await room.forwardDataPacket(userPacket("n1", nonce: nonce), lane: .reliable, from: alice.session.sid)
        await room.forwardDataPacket(userPacket("n1-again", nonce: nonce), lane: .lossy, from: bob.session.sid)
        // Transcriptions only from agents; garbage is counted, not relayed.
        await room.forwardDataPacket(dataPacket { $0.transcription.trackID = "TR_1" }, lane: .reliable,
                                     from: alice.session.sid)
        await room.forwardDataPacket([0x12, 0x09], lane: .reliable, from: alice.session.sid)
        await room.forwardDataPacket(userPacket("muted"), lane: .reliable, from: mute.session.sid)

        XCTAssertEqual(tally.counts.relayed, 6)
        XCTAssertEqual(tally.counts.dropped, [.repeated: 2, .notRelayed(.transcriptionFromNonAgent): 1, .malformed: 1])
        XCTAssertEqual(bob.session.dataPacketTally.counts.dropped, [.repeated: 1])
        XCTAssertEqual(mute.session.dataPacketTally.counts.dropped, [.notAllowed: 1])
        XCTAssertTrue(tally.summary?.contains("6 relayed") == true, tally.summary ?? "")

        let agent = await join(room, parameters("agent-1", kind: "agent"))
        await room.forwardDataPacket(dataPacket { $0.transcription.trackID = "TR_1" }, lane: .reliable,
                                     from: agent.session.sid)
        XCTAssertEqual(agent.session.dataPacketTally.counts.relayed, 1)
        XCTAssertEqual(agent.session.dataPacketTally.counts.deliveries, 4)
    }

    func testUserPacketNoncesRememberTheLastHundred() {
        var nonces = UserPacketNonces()
        func nonce(_ i: Int) -> Data { Data([UInt8(i & 0xFF), UInt8(i >> 8)] + Array(repeating: 7, count: 14)) }
        for i in 0..<100 { XCTAssertFalse(nonces.isRepeat(nonce(i))) }
        XCTAssertTrue(nonces.isRepeat(nonce(0)))
        XCTAssertTrue(nonces.isRepeat(nonce(99)))
        XCTAssertFalse(nonces.isRepeat(nonce(100)))  // pushes nonce(0) out
        XCTAssertFalse(nonces.isRepeat(nonce(0)))
        XCTAssertFalse(nonces.isRepeat(Data([1, 2, 3])), "only 16-byte nonces count")
        XCTAssertFalse(nonces.isRepeat(Data([1, 2, 3])))
    }
}
