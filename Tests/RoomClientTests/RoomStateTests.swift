import DataTracks
import LiveKitProtocol
@testable import RoomClient
import XCTest

/// The room actor's participant and track bookkeeping, fed signal messages directly (no
/// network): events, streams ending on unpublish, subscriptions waiting for a re-joining
/// publisher, subscriber handles routing packets into subscriptions.
final class RoomStateTests: XCTestCase {
    private func participant(_ identity: String, sid: String, version: UInt32, tracks: [(UInt32, String, String)],
                             state: Livekit_ParticipantInfo.State = .active,
                             reason: Livekit_DisconnectReason = .unknownReason) -> Livekit_ParticipantInfo {
        var info = Livekit_ParticipantInfo()
        info.identity = identity
        info.sid = sid
        info.version = version
        info.state = state
        info.disconnectReason = reason
        info.dataTracks = tracks.map { handle, name, trackSid in
            var track = Livekit_DataTrackInfo()
            track.pubHandle = handle
            track.name = name
            track.sid = trackSid
            return track
        }
        return info
    }

    /// What the server's `DataTrackSubscriberHandles` says: our subscriber `handle` is pub1's
    /// track `trackSid`.
    private func mapHandle(_ handle: UInt32, to trackSid: String, in room: Room) async {
        var handles = Livekit_DataTrackSubscriberHandles()
        var entry = Livekit_DataTrackSubscriberHandles.PublishedDataTrack()
        entry.publisherIdentity = "pub1"
        entry.trackSid = trackSid
        handles.subHandles[handle] = entry
        await room.applySubscriberHandles(handles)
    }

    private func next(_ iterator: inout AsyncStream<RoomEvent>.AsyncIterator) async -> String {
        guard let event = await iterator.next() else { return "end" }
        switch event {
        case .participantConnected(let p): return "connected \(p.identity)"
        case .participantDisconnected(let p): return "disconnected \(p.identity)"
        case .dataTrackPublished(let t): return "published \(t.publisherIdentity)/\(t.name) \(t.sid)"
        case .dataTrackUnpublished(let t): return "unpublished \(t.publisherIdentity)/\(t.name)"
        default: return "other"
        }
    }

    func testEventsAndUnpublishEndsTheStream() async throws {
        let room = Room()
        var events = room.events().makeAsyncIterator()
        await room.applyParticipants([participant("pub1", sid: "PA_1", version: 2, tracks: [(1, "imu", "DTR_a")])], fromJoin: false)
        var seen = [await next(&events), await next(&events)]
        XCTAssertEqual(seen, ["connected pub1", "published pub1/imu DTR_a"])
        let remote = await room.remoteParticipants
        XCTAssertEqual(remote["pub1"]?.dataTracks["imu"]?.sid, "DTR_a")

        let track = try await room.waitForDataTrack(identity: "pub1", name: "imu", timeout: .seconds(1))
        let subscription = try await track.subscribe()
        // A stale update (lower version, same sid) changes nothing.
        await room.applyParticipants([participant("pub1", sid: "PA_1", version: 1, tracks: [])], fromJoin: false)
        let still = await room.remoteParticipants["pub1"]?.dataTracks["imu"]
        XCTAssertNotNil(still)
        // Unpublish: the track leaves the list; event, and the stream ends.
        await room.applyParticipants([participant("pub1", sid: "PA_1", version: 3, tracks: [])], fromJoin: false)
        seen = [await next(&events)]
        XCTAssertEqual(seen, ["unpublished pub1/imu"])
        var frames = 0
        for await _ in subscription { frames += 1 }
        XCTAssertEqual(frames, 0)
    }

    func testPacketsRouteThroughSubscriberHandlesIntoEverySubscription() async throws {
        let room = Room()
        await room.applyParticipants([participant("pub1", sid: "PA_1", version: 2, tracks: [(3, "imu", "DTR_a")])], fromJoin: false)
        let track = try await room.waitForDataTrack(identity: "pub1", name: "imu", timeout: .seconds(1))
        let first = try await track.subscribe()
        let second = try await track.subscribe(bufferSize: 1)
        var handles = Livekit_DataTrackSubscriberHandles()
        var entry = Livekit_DataTrackSubscriberHandles.PublishedDataTrack()
        entry.publisherIdentity = "pub1"
        entry.publisherSid = "PA_1"
        entry.trackSid = "DTR_a"
        handles.subHandles[9] = entry
        await room.applySubscriberHandles(handles)

        // The server rewrote the publisher's handle 3 to our subscriber handle 9.
        var packetizer = try Packetizer(handle: 9)
        let payload = (0..<40_000).map { UInt8($0 % 251) }
        let session = await room.generation
        for frame in [DataTrackFrame(payload: payload, userTimestamp: 77), DataTrackFrame(payload: [1, 2, 3])] {
            for packet in try packetizer.packetizeEncoded(payload: frame.payload, userTimestamp: frame.userTimestamp) {
                await room.receivePacket(packet, session: session)
            }
        }
        // A packet for a handle nobody mapped is counted, not delivered.
        var stray = try Packetizer(handle: 4)
        for packet in try stray.packetizeEncoded(payload: [9]) { await room.receivePacket(packet, session: session) }
        await room.receivePacket([0xFF], session: session)

        let stats = await room.currentStatistics
        XCTAssertEqual(stats.framesReceived, 2)
        XCTAssertEqual(stats.unknownHandlePackets, 1)
        XCTAssertEqual(stats.malformedPackets, 1)
        XCTAssertEqual(stats.subscriberBufferDrops, 1, "the 1-frame buffer dropped the second frame")
        XCTAssertEqual(second.droppedFrames, 1)
        var iterator = first.makeAsyncIterator()
        let got = await iterator.next()
        XCTAssertEqual(got, DataTrackFrame(payload: payload, userTimestamp: 77))
        let got2 = await iterator.next()
        XCTAssertEqual(got2, DataTrackFrame(payload: [1, 2, 3]))
    }

    func testSubscriptionWaitsForAPublisherThatIsRejoining() async throws {
        let room = Room()
        await room.applyParticipants([participant("pub1", sid: "PA_1", version: 2, tracks: [(1, "imu", "DTR_a")])], fromJoin: false)
        let track = try await room.waitForDataTrack(identity: "pub1", name: "imu", timeout: .seconds(1))
        let subscription = try await track.subscribe()
        // Server restart: the publisher is reported gone with SERVER_SHUTDOWN…
        await room.applyParticipants([participant("pub1", sid: "PA_1", version: 3, tracks: [], state: .disconnected,
                                                  reason: .serverShutdown)], fromJoin: false)
        let gone = await room.remoteParticipants["pub1"]
        XCTAssertNil(gone)
        // …comes back under a new sid and re-publishes handle 1 with a new track sid.
        await room.applyParticipants([participant("pub1", sid: "PA_2", version: 1, tracks: [])], fromJoin: false)
        await room.applyParticipants([participant("pub1", sid: "PA_2", version: 2, tracks: [(1, "imu", "DTR_b")])], fromJoin: false)
        let pending = await room.pendingTracks
        XCTAssertTrue(pending.isEmpty)
        let subscribed = await room.subscriptions.count
        XCTAssertEqual(subscribed, 1, "the subscription is still there, now for DTR_b")
        // It still delivers: route a packet under the new sid.
        await mapHandle(2, to: "DTR_b", in: room)
        var packetizer = try Packetizer(handle: 2)
        let session = await room.generation
        for packet in try packetizer.packetizeEncoded(payload: [42]) { await room.receivePacket(packet, session: session) }
        var iterator = subscription.makeAsyncIterator()
        let frame = await iterator.next()
        XCTAssertEqual(frame?.payload, [42])
    }

    func testAPlainLeaveEndsSubscriptions() async throws {
        let room = Room()
        await room.applyParticipants([participant("pub1", sid: "PA_1", version: 2, tracks: [(1, "imu", "DTR_a")])], fromJoin: false)
        let track = try await room.waitForDataTrack(identity: "pub1", name: "imu", timeout: .seconds(1))
        let subscription = try await track.subscribe()
        await room.applyParticipants([participant("pub1", sid: "PA_1", version: 3, tracks: [], state: .disconnected,
                                                  reason: .clientInitiated)], fromJoin: false)
        var frames = 0
        for await _ in subscription { frames += 1 }
        XCTAssertEqual(frames, 0)
        let subscribed = await room.subscriptions.count
        XCTAssertEqual(subscribed, 0)
    }

    /// Someone joining right after us: the server sends our join response (listing who was
    /// there) and at once a ParticipantUpdate for the newcomer. Both must end up in the room,
    /// in whatever order `connect` resumes (the newcomer was lost once and `play
    /// --wait-for-subscribers` waited forever).
    func testAParticipantJoiningRightAfterUsIsKept() async throws {
        let room = Room()
        var join = Livekit_JoinResponse()
        join.participant = participant("me", sid: "PA_me", version: 1, tracks: [])
        join.otherParticipants = [participant("early", sid: "PA_e", version: 2, tracks: [])]
        var response = Livekit_SignalResponse()
        response.message = .join(join)
        let session = await room.generation
        await room.handle(response, session: session)
        var update = Livekit_ParticipantUpdate()
        update.participants = [participant("late", sid: "PA_l", version: 2, tracks: [(1, "imu", "DTR_l")])]
        response.message = .update(update)
        await room.handle(response, session: session)
        let identities = await room.remoteParticipants.keys.sorted()
        XCTAssertEqual(identities, ["early", "late"])
        let local = await room.identity
        XCTAssertEqual(local, "me")
    }

    /// An encrypted track: with keys, frames arrive decrypted and a wrong key's are dropped
    /// under their reason; in passthrough, frames arrive as the ciphertext with their extension.
    func testEncryptedFramesDecryptedDroppedByReasonOrPassedThrough() async throws {
        let keys = try E2EEKeyProvider(sharedPassphrase: "room key")
        var publisher = FrameCryptor(keys: keys)
        let sealed = try publisher.encrypt([1, 2, 3, 4], participant: "pub1")

        func deliver(_ options: RoomOptions, e2ee: DataTrackPacket.E2EEExtension?) async throws
            -> (frames: [DataTrackFrame], stats: Room.Statistics) {
            let room = Room()
            await room.adopt(options)
            var info = participant("pub1", sid: "PA_1", version: 2, tracks: [(3, "imu", "DTR_a")])
            info.dataTracks[0].encryption = .gcm
            await room.applyParticipants([info], fromJoin: false)
            let track = try await room.waitForDataTrack(identity: "pub1", name: "imu", timeout: .seconds(1))
            let subscription = try await track.subscribe()
            await mapHandle(9, to: "DTR_a", in: room)
            var packetizer = try Packetizer(handle: 9)
            let session = await room.generation
            for packet in try packetizer.packetizeEncoded(payload: sealed.ciphertext, userTimestamp: 5, e2ee: e2ee) {
                await room.receivePacket(packet, session: session)
            }
            let stats = await room.currentStatistics
            await room.applyParticipants([participant("pub1", sid: "PA_1", version: 3, tracks: [])], fromJoin: false)
            var frames: [DataTrackFrame] = []
            for await frame in subscription { frames.append(frame) }
            return (frames, stats)
        }

        let right = try await deliver(RoomOptions(e2ee: E2EEOptions(keyProvider: keys)), e2ee: sealed.e2ee)
        XCTAssertEqual(right.frames, [DataTrackFrame(payload: [1, 2, 3, 4], userTimestamp: 5)])

        let wrong = try await deliver(RoomOptions(e2ee: E2EEOptions(keyProvider: try E2EEKeyProvider(sharedPassphrase: "other"))),
                                      e2ee: sealed.e2ee)
        XCTAssertEqual(wrong.frames, [])
        XCTAssertEqual(wrong.stats.e2eeDrops.authenticationFailed, 1)
        XCTAssertEqual(wrong.stats.decryptFailures, 1)

        let noKey = try await deliver(RoomOptions(), e2ee: sealed.e2ee)
        XCTAssertEqual(noKey.frames, [])
        XCTAssertEqual(noKey.stats.e2eeDrops.noKeyProvider, 1)

        let missing = try await deliver(RoomOptions(e2ee: E2EEOptions(keyProvider: keys)), e2ee: nil)
        XCTAssertEqual(missing.frames, [])
        XCTAssertEqual(missing.stats.e2eeDrops.missingExtension, 1)

        let passthrough = try await deliver(RoomOptions(e2eePassthrough: true), e2ee: sealed.e2ee)
        XCTAssertEqual(passthrough.frames, [DataTrackFrame(payload: sealed.ciphertext, userTimestamp: 5, e2ee: sealed.e2ee)])
        XCTAssertEqual(passthrough.frames.first?.sealed?.stored.count, SealedFrame.headerLength + 4 + FrameCryptor.tagLength)
    }

    /// A malicious server labels a track unencrypted and injects plaintext: with keys set the
    /// room refuses it (strict, the default) and counts it; strict off delivers it.
    func testStrictE2EERefusesPlaintextOnATrackLabelledUnencrypted() async throws {
        let keys = try E2EEKeyProvider(sharedPassphrase: "room key")

        func deliver(_ options: RoomOptions) async throws -> (frames: [DataTrackFrame], stats: Room.Statistics) {
            let room = Room()
            await room.adopt(options)
            // The server says: no encryption on this track.
            let info = participant("pub1", sid: "PA_1", version: 2, tracks: [(3, "imu", "DTR_a")])
            await room.applyParticipants([info], fromJoin: false)
            let track = try await room.waitForDataTrack(identity: "pub1", name: "imu", timeout: .seconds(1))
            let subscription = try await track.subscribe()
            await mapHandle(9, to: "DTR_a", in: room)
            var packetizer = try Packetizer(handle: 9)
            let session = await room.generation
            for packet in try packetizer.packetizeEncoded(payload: [6, 6, 6], userTimestamp: 1, e2ee: nil) {
                await room.receivePacket(packet, session: session)
            }
            let stats = await room.currentStatistics
            await room.applyParticipants([participant("pub1", sid: "PA_1", version: 3, tracks: [])], fromJoin: false)
            var frames: [DataTrackFrame] = []
            for await frame in subscription { frames.append(frame) }
            return (frames, stats)
        }

        let strict = try await deliver(RoomOptions(e2ee: E2EEOptions(keyProvider: keys)))
        XCTAssertEqual(strict.frames, [], "plaintext the server labelled unencrypted is refused")
        XCTAssertEqual(strict.stats.e2eeDrops.plaintextRefused, 1)
        XCTAssertEqual(strict.stats.framesReceived, 0)

        let lenient = try await deliver(RoomOptions(e2ee: E2EEOptions(keyProvider: keys, strict: false)))
        XCTAssertEqual(lenient.frames, [DataTrackFrame(payload: [6, 6, 6], userTimestamp: 1)])
        XCTAssertEqual(lenient.stats.e2eeDrops.plaintextRefused, 0)

        // Without keys there is nothing to be strict about.
        let plain = try await deliver(RoomOptions())
        XCTAssertEqual(plain.frames, [DataTrackFrame(payload: [6, 6, 6], userTimestamp: 1)])
    }

    func testWaitForTrackTimesOut() async {
        let room = Room()
        do {
            _ = try await room.waitForDataTrack(identity: "nobody", name: "x", timeout: .milliseconds(50))
            XCTFail("should time out")
        } catch {
            XCTAssertEqual(error, .timeout("data track nobody/x"))
        }
    }
}
