import DataTracks
import Foundation
import LiveKitProtocol
import WebRTCData
import XCTest
@testable import RoomServer

/// A participant whose signal connection closes without `leave` (SignalLossWindow): the window
/// itself with explicit times, then live sessions whose publisher peer connection is really
/// connected over 127.0.0.1 (a WebRTCData client offering, the session answering ICE-lite).
final class SignalLossTests: XCTestCase {
    // Binding 127.0.0.1:0 cannot fail on a test machine.
    private let factory = try! PeerConnectionFactory(addresses: [IPAddress("127.0.0.1")!], port: 0)

    // MARK: - The window

    func testNeverConnectedGoesAtOnce() {
        var window = SignalLossWindow()
        XCTAssertEqual(window.signalClosed(transportConnected: false, transportLost: false, now: .now), .removeNow)
        XCTAssertFalse(window.isKeeping)
    }

    func testConnectedIsKeptForTheResumeWindowAndTransportLossShortensIt() {
        var window = SignalLossWindow()
        let start = ContinuousClock.now
        XCTAssertNil(window.transportLost(now: start), "nothing to shorten while the signal is open")
        XCTAssertEqual(window.signalClosed(transportConnected: true, transportLost: false, now: start),
                       .keepUntil(start + .seconds(15)))
        XCTAssertTrue(window.isKeeping)
        // The peer connection goes 2 s later: 5 s more (LiveKit's disconnectCleanupDuration).
        XCTAssertEqual(window.transportLost(now: start + .seconds(2)), start + .seconds(7))
        // Never later than it already is.
        XCTAssertNil(window.transportLost(now: start + .seconds(3)))
        XCTAssertEqual(window.deadline, start + .seconds(7))
        // Lost near the end of the window: the window's end stands.
        var late = SignalLossWindow()
        _ = late.signalClosed(transportConnected: true, transportLost: false, now: start)
        XCTAssertNil(late.transportLost(now: start + .seconds(12)))
        XCTAssertEqual(late.deadline, start + .seconds(15))
    }

    func testTransportAlreadyLostKeepsOnlyTheCleanupTime() {
        var window = SignalLossWindow()
        let start = ContinuousClock.now
        XCTAssertEqual(window.signalClosed(transportConnected: true, transportLost: true, now: start),
                       .keepUntil(start + .seconds(5)))
    }

    // MARK: - Live sessions

    private func parameters(_ identity: String) -> JoinParameters {
        let grant = VideoGrant(roomJoin: true, room: "lab")
        let claims = AccessTokenClaims(apiKey: "devkey", identity: identity, expiry: 2_000_000_000, video: grant)
        return JoinParameters(claims: claims, grant: grant, room: "lab", path: .singlePeerConnection, publisherOffer: nil,
                              clientInfo: Livekit_ClientInfo(), autoSubscribe: true, reconnect: false, metadata: "",
                              attributes: [:])
    }

    /// Used by one task at a time (the test body, or the one `within` body it awaits).
    private final class Peer: @unchecked Sendable {
        let session: ParticipantSession
        init(_ session: ParticipantSession) {
            self.session = session
        }

        func next() async -> Livekit_SignalResponse.OneOf_Message? {
            // What the WebSocket writer would send, decoded (nil once the outbox finished).
            guard let bytes = await session.outbox.next() else { return nil }
            return try? Livekit_SignalResponse(serializedBytes: bytes).message
        }

        /// The next ParticipantUpdate, skipping anything else.
        func nextUpdate() async -> Livekit_ParticipantInfo? {
            while let message = await next() {
                if case .update(let update) = message, let info = update.participants.first { return info }
            }
            return nil
        }
    }

    private func join(_ room: ServerRoom, _ identity: String, window: SignalLossWindow = SignalLossWindow()) async -> Peer {
        let session = ParticipantSession(parameters: parameters(identity), room: room, factory: factory,
                                         window: window)
        let joined = await room.join(session, subscriberPrimary: false)
        XCTAssertTrue(joined)
        let peer = Peer(session)
        _ = await peer.next()  // join response
        return peer
    }

    private struct Timeout: Error {}

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

    /// A client peer connection offering to `peer`'s session, connected end to end.
    private func connectPublisher(_ peer: Peer) async throws -> PeerConnection {
        let client = try PeerConnection(.init(addresses: [TransportAddress(ip: IPAddress("127.0.0.1")!, port: 0)]))
        _ = try await client.createDataChannel(DataLane.dataTrackLabel, ordered: false, maxRetransmits: 0)
        var offer = Livekit_SessionDescription()
        offer.type = "offer"
        offer.sdp = try await client.createOffer()
        offer.id = 1
        var request = Livekit_SignalRequest()
        request.message = .offer(offer)
        await peer.session.handle(request)
        guard case .answer(let answer)? = await peer.next() else {
            XCTFail("expected the answer")
            throw Timeout()
        }
        XCTAssertEqual(answer.id, 1)
        try await client.setRemoteDescription(answer.sdp)
        let session = peer.session
        try await within(15) {
            while await !session.hasConnectedTransport { try await Task.sleep(for: .milliseconds(20)) }
        }
        return client
    }

    private func publishAndSubscribe(_ room: ServerRoom, publisher: Peer, subscriber: Peer) async throws -> String {
        var publish = Livekit_PublishDataTrackRequest()
        publish.pubHandle = 3
        publish.name = "imu"
        await room.publishDataTrack(publish, from: publisher.session.sid)
        guard case .publishDataTrackResponse(let published)? = await publisher.next() else {
            XCTFail("expected 27")
            throw Timeout()
        }
        _ = await subscriber.nextUpdate()
        var update = Livekit_UpdateDataSubscription()
        var item = Livekit_UpdateDataSubscription.Update()
        item.trackSid = published.info.sid
        item.subscribe = true
        update.updates = [item]
        await room.updateDataSubscription(update, from: subscriber.session.sid)
        guard case .dataTrackSubscriberHandles(let handles)? = await subscriber.next() else {
            XCTFail("expected 29")
            throw Timeout()
        }
        XCTAssertEqual(handles.subHandles.count, 1)
        return published.info.sid
    }

    private func packet() -> [UInt8] {
        DataTrackPacket(header: .init(marker: .single, handle: 3, sequence: 1, frameNumber: 1, timestamp: 7,
                                      extensions: .init(userTimestamp: nil)),
                        payload: [9, 9][...]).encoded()
    }

    func testSignalCloseBeforeConnectingRemovesAtOnceWithSignalClose() async throws {
        let room = ServerRoom(name: "lab", server: .make())
        let watcher = await join(room, "w")
        let pub = await join(room, "robot")
        _ = await watcher.nextUpdate()  // robot active
        await pub.session.signalClosed()
        let left = try await within(5) { await watcher.nextUpdate() }
        XCTAssertEqual(left?.state, .disconnected)
        XCTAssertEqual(left?.disconnectReason, .signalClose)
        let count = await room.participantCount
        XCTAssertEqual(count, 1)
    }

    func testKeptThroughTheWindowThenRemovedWithSignalClose() async throws {
        let room = ServerRoom(name: "lab", server: .make())
        let sub = await join(room, "sub")
        var window = SignalLossWindow()
        window.resume = .milliseconds(1500)
        let pub = await join(room, "robot", window: window)
        _ = await sub.nextUpdate()
        let client = try await connectPublisher(pub)
        defer { Task { await client.close() } }
        _ = try await publishAndSubscribe(room, publisher: pub, subscriber: sub)

        let closedAt = ContinuousClock.now
        await pub.session.signalClosed()
        // Within the window: still a member, its track still routed to the subscriber.
        let count = await room.participantCount
        XCTAssertEqual(count, 2)
        let kept = await pub.session.isKeptAfterSignalLoss
        XCTAssertTrue(kept)
        await room.forwardDataTrackPacket(packet(), from: pub.session.sid)
        XCTAssertEqual(sub.session.dataTrackQueue.count, 1)
        // Then: DISCONNECTED with SIGNAL_CLOSE, no tracks, and the subscriber's handles emptied.
        let left = try await within(10) { await sub.nextUpdate() }
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - closedAt, .milliseconds(1400))
        XCTAssertEqual(left?.identity, "robot")
        XCTAssertEqual(left?.state, .disconnected)
        XCTAssertEqual(left?.disconnectReason, .signalClose)
        XCTAssertEqual(left?.dataTracks.count, 0)
        let after = await room.participantCount
        XCTAssertEqual(after, 1)
        try await within(5) { for await _ in pub.session.ending {} }
    }

    func testReJoinWithinTheWindowReplacesTheKeptSession() async throws {
        let room = ServerRoom(name: "lab", server: .make())
        let sub = await join(room, "sub")
        let old = await join(room, "robot")
        _ = await sub.nextUpdate()
        let client = try await connectPublisher(old)
        defer { Task { await client.close() } }
        _ = try await publishAndSubscribe(room, publisher: old, subscriber: sub)
        await old.session.signalClosed()

        let new = await join(room, "robot")
        // The subscriber sees the old sid go with DUPLICATE_IDENTITY, the new one come.
        let gone = try await within(5) { await sub.nextUpdate() }
        XCTAssertEqual(gone?.sid, old.session.sid)
        XCTAssertEqual(gone?.disconnectReason, .duplicateIdentity)
        let came = try await within(5) { await sub.nextUpdate() }
        XCTAssertEqual(came?.sid, new.session.sid)
        XCTAssertEqual(came?.state, .active)
        try await within(5) { for await _ in old.session.ending {} }
        // The new session re-publishes under the same handle; the subscriber can take it again.
        let trackSID = try await publishAndSubscribe(room, publisher: new, subscriber: sub)
        XCTAssertTrue(trackSID.hasPrefix("DTR_"))
        let count = await room.participantCount
        XCTAssertEqual(count, 2)
    }

    func testPeerConnectionClosedWhileKeptShortensTheWindow() async throws {
        let room = ServerRoom(name: "lab", server: .make())
        let watcher = await join(room, "w")
        var window = SignalLossWindow()
        window.resume = .seconds(60)
        window.afterTransportLoss = .milliseconds(300)
        let pub = await join(room, "robot", window: window)
        _ = await watcher.nextUpdate()
        let client = try await connectPublisher(pub)
        await pub.session.signalClosed()
        // The client tears its connection down (SCTP ABORT, DTLS close_notify).
        await client.close()
        let left = try await within(10) { await watcher.nextUpdate() }
        XCTAssertEqual(left?.state, .disconnected)
        XCTAssertEqual(left?.disconnectReason, .signalClose)
    }

    func testServerShutdownLeaveIsDisconnectWithServerShutdown() async {
        let room = ServerRoom(name: "lab", server: .make())
        let peer = await join(room, "a")
        await room.closeAll()
        guard case .leave(let leave)? = await peer.next() else { return XCTFail("expected leave") }
        XCTAssertEqual(leave.reason, .serverShutdown)
        XCTAssertEqual(leave.action, .disconnect)
        XCTAssertFalse(leave.canReconnect)
    }
}
