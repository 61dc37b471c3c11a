import DataTracks
import Foundation
import LiveKitProtocol

/// One room: its participants, their data tracks, who subscribes to what under which handle,
/// and the forwarding table the packets follow. The actor owns all of it; sessions call in and
/// the room answers through each session's signal outbox and packet queue (never awaiting a
/// session, so no state can change under it mid-method).
///
/// Behaviour follows livekit-server `pkg/rtc/room.go` and `participant_data_track.go` where the
/// SDK can see it (docs/WIRE.md): ParticipantUpdate to the others on join, change and leave with
/// the participant's `version` incremented each time; data-track publish checks; a full
/// `DataTrackSubscriberHandles` snapshot after every subscription change.
///
/// A hidden participant (`hidden` grant) is left out of every other member's join response and
/// participant updates, and its data packets reach the others without its identity
/// (`broadcastParticipantState`, `GetOtherParticipantInfo`, `handleReceivedDataMessage`).
/// Participant updates and handle snapshots are the latest value of something, so each member's
/// outbox keeps only the newest unsent one (`SignalOutbox`): a burst of changes costs a slow
/// reader one pending update per participant, not one per change.
actor ServerRoom {
    nonisolated let name: String
    nonisolated let sid: String
    nonisolated let createdAt: Date
    nonisolated let server: ServerIdentity
    nonisolated let capture: DataTrackCapture?

    private struct Member {
        var info: Livekit_ParticipantInfo
        let session: ParticipantSession
        var canPublishData: Bool
        var canSubscribe: Bool
        var canUpdateOwnMetadata: Bool
        /// livekit-server `Hidden()`: the `hidden` grant.
        var hidden: Bool
        /// livekit-server `IsAgent()`: kind `agent` or the `agent` grant.
        var isAgent: Bool
        /// The highest reliable `DataPacket.sequence` relayed from this participant.
        var lastReliableSequence: UInt32 = 0
        var subscriberHandles = HandleAllocator()
        /// Subscriber handle → track sid, for this member as a subscriber.
        var subscriptions: [UInt16: String] = [:]
    }

    /// Where a track is: its publisher and the publisher's handle.
    private struct TrackLocation: Hashable {
        var publisherSID: String
        var pubHandle: UInt16
    }

    /// One subscriber of one track: where its packets go and under which handle.
    struct Route: Sendable {
        var subscriberSID: String
        var handle: UInt16
        var queue: SubscriberQueue
    }

    private var members: [String: Member] = [:]
    /// Participant sids in join order, so updates and join responses list them stably.
    private var order: [String] = []
    private var tracks: [String: TrackLocation] = [:]
    /// Publisher sid → publisher handle → subscribers: the hot path's one lookup.
    private var routes: [String: [UInt16: [Route]]] = [:]
    /// True once the room emptied and left the directory; a late join must go elsewhere.
    private(set) var closed = false

    /// Packets that could not be routed (too short, handle 0, unknown handle).
    private(set) var unroutablePackets = 0
    /// Recent user-packet nonces, for the room-wide duplicate check.
    private var recentNonces = UserPacketNonces()

    init(name: String, server: ServerIdentity, capture: DataTrackCapture? = nil, now: Date = Date()) {
        self.capture = capture
        self.name = name
        self.sid = Identifiers.room()
        self.createdAt = now
        self.server = server
    }

    var participantCount: Int { members.count }

    /// The room's members and published tracks now, for the metrics endpoint.
    func statistics() -> ServerStatistics.Room {
        var room = ServerStatistics.Room(name: name, tracks: tracks.count)
        for sid in order {
            guard let member = members[sid] else { continue }
            let session = member.session
            let published = session.publishedPackets.value
            let queue = session.dataTrackQueue.counters
            room.participants.append(.init(
                identity: session.identity, packetsPublished: UInt64(published.count), bytesPublished: UInt64(published.bytes),
                packetsForwarded: UInt64(queue.sent), packetsDropped: UInt64(queue.dropped), packetsUnsent: UInt64(queue.unsent),
                queuedPackets: session.dataTrackQueue.count))
        }
        return room
    }

    // MARK: - Join and leave

    /// Admits `session`, replacing an earlier session of the same identity (LiveKit closes the
    /// old one with DUPLICATE_IDENTITY). Sends the join response first, then tells the others.
    /// Nil when the room already closed.
    func join(_ session: ParticipantSession, subscriberPrimary: Bool, now: Date = Date()) -> Bool {
        guard !closed else { return false }
        if let old = members.values.first(where: { $0.info.identity == session.identity }) {
            removeMember(old.info.sid, reason: .duplicateIdentity)
            var leave = Livekit_LeaveRequest()
            leave.reason = .duplicateIdentity
            leave.action = .disconnect
            old.session.terminate(sending: leave)
        }
        let parameters = session.parameters
        let seconds = Int64(now.timeIntervalSince1970)
        var info = Livekit_ParticipantInfo()
        info.sid = session.sid
        info.identity = session.identity
        info.name = parameters.claims.name ?? ""
        info.metadata = parameters.metadata
        info.attributes = parameters.attributes
        info.state = .joined
        info.joinedAt = seconds
        info.joinedAtMs = Int64(now.timeIntervalSince1970 * 1000)
        info.version = 1
        info.permission = parameters.grant.participantPermission
        info.kind = Self.kind(parameters.claims.kind)
        info.clientProtocol = parameters.clientInfo.clientProtocol
        info.capabilities = parameters.clientInfo.capabilities
        let grant = parameters.grant
        members[session.sid] = Member(info: info, session: session, canPublishData: grant.allowsPublishData,
                                      canSubscribe: grant.allowsSubscribe, canUpdateOwnMetadata: grant.allowsUpdateOwnMetadata,
                                      hidden: grant.hidden ?? false,
                                      isAgent: info.kind == .agent || grant.agent == true)
        order.append(session.sid)

        var join = Livekit_JoinResponse()
        join.room = roomInfo()
        join.participant = info
        // livekit-server `GetOtherParticipantInfo`: hidden participants are left out.
        join.otherParticipants = order.filter { $0 != session.sid }.compactMap { sid in
            members[sid].flatMap { $0.hidden ? nil : $0.info }
        }
        join.serverVersion = server.version
        join.serverInfo = server.info
        join.pingInterval = 5
        join.pingTimeout = 15
        join.subscriberPrimary = subscriberPrimary
        var response = Livekit_SignalResponse()
        response.message = .join(join)
        session.send(response)

        // Others see the newcomer active at once (as in the SDK captures).
        members[session.sid]?.info.state = .active
        members[session.sid]?.info.version += 1
        broadcastParticipantState(of: session.sid)
        return true
    }

    /// Removes the participant: its `leave` (CLIENT_INITIATED), or its signal connection closed
    /// and nobody re-joined (SIGNAL_CLOSE). The others get a ParticipantUpdate with the reason.
    /// True when the room is now empty and closed.
    @discardableResult
    func leave(_ participantSID: String, session: ParticipantSession,
               reason: Livekit_DisconnectReason = .clientInitiated) -> Bool {
        // A replaced session's late leave must not remove its successor.
        if let member = members[participantSID], member.session === session {
            removeMember(participantSID, reason: reason)
        }
        if members.isEmpty { closed = true }
        return closed
    }

    /// The session of participant `participantSID` if it is still a member (a resume attempt
    /// names the sid it had).
    func session(of participantSID: String) -> ParticipantSession? {
        members[participantSID]?.session
    }

    /// Ends every session (server shutdown). As livekit-server's `RoomManager.Stop` →
    /// `Room.Close(RoomManagerStop)` → `Participant.Close(sendLeave: true, …,
    /// isExpectedToResume: false)` (`pkg/rtc/participant_signal.go` `sendLeaveRequest`):
    /// `Leave{reason: SERVER_SHUTDOWN, action: DISCONNECT}`, `can_reconnect` false; for a client
    /// of protocol 12 or older LiveKit leaves `action` out, which decodes as DISCONNECT (0), so
    /// the bytes are the same.
    func closeAll() {
        var leave = Livekit_LeaveRequest()
        leave.reason = .serverShutdown
        leave.action = .disconnect
        for sid in order {
            guard let member = members[sid] else { continue }
            removeMember(sid, reason: .serverShutdown)
            member.session.terminate(sending: leave)
        }
        closed = true
    }

    private func removeMember(_ participantSID: String, reason: Livekit_DisconnectReason) {
        guard var member = members.removeValue(forKey: participantSID) else { return }
        order.removeAll { $0 == participantSID }
        // Its tracks vanish for their subscribers.
        var affected = Set<String>()
        for track in member.info.dataTracks {
            affected.formUnion(dropTrack(track.sid))
        }
        routes[participantSID] = nil
        // Its own subscriptions stop.
        for (handle, trackSID) in member.subscriptions {
            guard let location = tracks[trackSID] else { continue }
            routes[location.publisherSID]?[location.pubHandle]?.removeAll { $0.subscriberSID == participantSID && $0.handle == handle }
        }
        for subscriber in affected where subscriber != participantSID { sendSubscriberHandles(to: subscriber) }
        member.info.state = .disconnected
        member.info.disconnectReason = reason
        member.info.version += 1
        member.info.dataTracks = []
        if !member.hidden { broadcast(member.info, to: order) }
    }

    // MARK: - Data tracks

    /// Signal request 19: checks, then response 27 and a ParticipantUpdate listing the track.
    func publishDataTrack(_ request: Livekit_PublishDataTrackRequest, from participantSID: String) {
        guard var member = members[participantSID] else { return }
        if let refusal = DataTrackPublishCheck.refusal(of: request, canPublishData: member.canPublishData,
                                                       existing: member.info.dataTracks) {
            member.session.send(refusal.response(to: request))
            return
        }
        var track = Livekit_DataTrackInfo()
        track.pubHandle = request.pubHandle
        track.sid = Identifiers.dataTrack()
        track.name = request.name
        track.encryption = request.encryption
        if request.hasFrameEncoding { track.frameEncoding = request.frameEncoding }
        if request.hasSchema { track.schema = request.schema }
        member.info.dataTracks.append(track)
        member.info.isPublisher = true
        member.info.version += 1
        members[participantSID] = member
        tracks[track.sid] = TrackLocation(publisherSID: participantSID, pubHandle: UInt16(request.pubHandle))

        var published = Livekit_PublishDataTrackResponse()
        published.info = track
        var response = Livekit_SignalResponse()
        response.message = .publishDataTrackResponse(published)
        member.session.send(response)
        broadcastParticipantState(of: participantSID)
    }

    /// Signal request 20: response 28, subscribers lose the track (new handle snapshots), and a
    /// ParticipantUpdate without it.
    func unpublishDataTrack(_ request: Livekit_UnpublishDataTrackRequest, from participantSID: String) {
        guard var member = members[participantSID] else { return }
        guard let index = member.info.dataTracks.firstIndex(where: { $0.pubHandle == request.pubHandle }) else {
            var refusal = Livekit_RequestResponse()
            refusal.reason = .notFound
            refusal.message = "no data track with handle \(request.pubHandle)"
            refusal.request = .unpublishDataTrack(request)
            var response = Livekit_SignalResponse()
            response.message = .requestResponse(refusal)
            member.session.send(response)
            return
        }
        let track = member.info.dataTracks.remove(at: index)
        member.info.version += 1
        members[participantSID] = member
        let affected = dropTrack(track.sid)

        var unpublished = Livekit_UnpublishDataTrackResponse()
        unpublished.info = track
        var response = Livekit_SignalResponse()
        response.message = .unpublishDataTrackResponse(unpublished)
        member.session.send(response)
        broadcastParticipantState(of: participantSID)
        for subscriber in affected { sendSubscriberHandles(to: subscriber) }
    }

    // MARK: - Metadata

    /// Signal request `update_metadata`: name, metadata and attributes, with the
    /// `canUpdateOwnMetadata` grant and LiveKit's size limits (`ParticipantMetadataUpdate`).
    /// Every change goes to everyone, the participant itself included (its SDK updates its
    /// local participant from it), then a `RequestResponse` with the request's id answers the
    /// request, as livekit-server `ParticipantImpl.UpdateMetadata` → `OnParticipantUpdate` →
    /// `broadcastParticipantState(immediate)`, then `sendRequestResponse`.
    func updateMetadata(_ update: Livekit_UpdateParticipantMetadata, from participantSID: String) {
        guard var member = members[participantSID] else { return }
        let outcome = ParticipantMetadataUpdate.apply(update, to: &member.info,
                                                      canUpdateOwnMetadata: member.canUpdateOwnMetadata)
        if outcome.changed {
            member.info.version += 1
            members[participantSID] = member
            if member.hidden {
                broadcast(member.info, to: [participantSID])
            } else {
                broadcast(member.info, to: order)
            }
        }
        member.session.send(outcome.response(to: update))
    }

    /// Forgets a track and every subscription to it; returns the subscribers that had one.
    private func dropTrack(_ trackSID: String) -> Set<String> {
        guard let location = tracks.removeValue(forKey: trackSID) else { return [] }
        let trackRoutes = routes[location.publisherSID]?.removeValue(forKey: location.pubHandle) ?? []
        var affected = Set<String>()
        for route in trackRoutes {
            members[route.subscriberSID]?.subscriptions[route.handle] = nil
            members[route.subscriberSID]?.subscriberHandles.release(route.handle)
            affected.insert(route.subscriberSID)
        }
        return affected
    }

    /// Signal request 21: applies each update, then sends the subscriber its full handle map
    /// (response 29). Unknown tracks are skipped; a subscriber without `canSubscribe` gets none.
    /// Each new subscription is then announced to the track's publisher (`TrackSubscribed`) if
    /// it is a trackbag client (`announcesDataTrackSubscriptions`).
    func updateDataSubscription(_ request: Livekit_UpdateDataSubscription, from participantSID: String) {
        guard var member = members[participantSID] else { return }
        var added: [(publisherSID: String, trackSID: String)] = []
        for update in request.updates {
            let existing = member.subscriptions.first { $0.value == update.trackSid }?.key
            if update.subscribe {
                guard member.canSubscribe, existing == nil, let location = tracks[update.trackSid],
                      let handle = member.subscriberHandles.allocate() else { continue }
                member.subscriptions[handle] = update.trackSid
                routes[location.publisherSID, default: [:]][location.pubHandle, default: []]
                    .append(Route(subscriberSID: participantSID, handle: handle, queue: member.session.dataTrackQueue))
                added.append((location.publisherSID, update.trackSid))
            } else if let handle = existing {
                member.subscriptions[handle] = nil
                member.subscriberHandles.release(handle)
                if let location = tracks[update.trackSid] {
                    routes[location.publisherSID]?[location.pubHandle]?.removeAll {
                        $0.subscriberSID == participantSID && $0.handle == handle
                    }
                }
            }
        }
        members[participantSID] = member
        sendSubscriberHandles(to: participantSID)
        // After the handles: a frame the publisher sends in answer then finds the route in
        // place, and the subscriber's handle map is on its way ahead of it.
        for (publisherSID, trackSID) in added {
            guard let publisher = members[publisherSID], Self.announcesDataTrackSubscriptions(to: publisher.session.parameters.clientInfo)
            else { continue }
            var response = Livekit_SignalResponse()
            var subscribed = Livekit_TrackSubscribed()
            subscribed.trackSid = trackSID
            response.message = .trackSubscribed(subscribed)
            publisher.session.send(response)
        }
    }

    /// Whether a data track's publisher is told of each new subscriber with `TrackSubscribed`
    /// (signal response 23). livekit-server sends it only for media tracks, once, when the first
    /// subscriber binds (`OnTrackEverSubscribed`), and only to clients that support it
    /// (`SupportTrackSubscribedEvent`); LiveKit's SDKs look the sid up among their media
    /// publications. We send it for data tracks, on every new subscription, to trackbag's own
    /// client only (ClientInfo `version` "trackbag-…"), which resends latched state to late
    /// joiners (republish `latch_late_joiners`, docs/WIRE.md); an SDK is never sent a `DTR_` sid
    /// it has no use for.
    static func announcesDataTrackSubscriptions(to client: Livekit_ClientInfo) -> Bool {
        client.version.hasPrefix("trackbag-")
    }

    /// The subscriber's handles as response 29 (a full snapshot, docs/WIRE.md).
    func subscriberHandles(of participantSID: String) -> Livekit_DataTrackSubscriberHandles {
        var snapshot = Livekit_DataTrackSubscriberHandles()
        guard let member = members[participantSID] else { return snapshot }
        for (handle, trackSID) in member.subscriptions {
            guard let location = tracks[trackSID], let publisher = members[location.publisherSID] else { continue }
            var published = Livekit_DataTrackSubscriberHandles.PublishedDataTrack()
            published.publisherIdentity = publisher.info.identity
            published.publisherSid = publisher.info.sid
            published.trackSid = trackSID
            snapshot.subHandles[UInt32(handle)] = published
        }
        return snapshot
    }

    private func sendSubscriberHandles(to participantSID: String) {
        guard let member = members[participantSID] else { return }
        var response = Livekit_SignalResponse()
        response.message = .dataTrackSubscriberHandles(subscriberHandles(of: participantSID))
        // A full snapshot: a newer one makes an unsent older one useless.
        guard let bytes: [UInt8] = try? response.serializedBytes() else { return }
        member.session.send(encoded: bytes, key: .subscriberHandles)
    }

    /// One packet from a publisher's `_data_track` channel: a copy with the handle rewritten
    /// (bytes 2-3 only, packet v0) goes to each subscriber's queue.
    func forwardDataTrackPacket(_ packet: [UInt8], from publisherSID: String) {
        capture?.record(packet)
        guard let handle = try? DataTrackPacket.handle(of: packet),
              let targets = routes[publisherSID]?[handle] else {
            unroutablePackets += 1
            return
        }
        for target in targets {
            var copy = packet
            do {
                try DataTrackPacket.rewriteHandle(in: &copy, to: target.handle)
            } catch {
                continue  // cannot happen: the length was checked and handles are never 0
            }
            target.queue.offer(copy)
        }
    }

    // MARK: - Data packets

    /// A `DataPacket` from `_reliable`/`_lossy`, relayed as livekit-server does
    /// (`pkg/rtc/participant.go` `onReceivedDataMessage`, `handleReceivedDataMessage`;
    /// `pkg/rtc/room.go` `BroadcastDataPacketForRoom`):
    /// - the sender needs `canPublishData`;
    /// - a reliable packet whose `sequence` is not above the last one relayed from this sender is
    ///   a repeat and dropped; so is a user packet whose 16-byte `nonce` the room saw recently;
    /// - `RelayedDataPacket` stamps the sender (blank identity when hidden), sets `kind` from the
    ///   channel, refuses transcriptions from non-agents and metrics;
    /// - it goes, on the same lane, to every other member, or only to those named by
    ///   `destination_identities` or the user packet's `destination_sids`.
    /// Every packet is counted in the sender's `DataPacketTally`, relayed or dropped with why.
    func forwardDataPacket(_ bytes: [UInt8], lane: DataLane, from participantSID: String) {
        guard let sender = members[participantSID] else { return }
        let tally = sender.session.dataPacketTally
        guard sender.canPublishData else { return tally.drop(.notAllowed) }
        let relayed: RelayedDataPacket
        do {
            relayed = try RelayedDataPacket.relay(bytes, channel: lane.kind, senderIdentity: sender.info.identity,
                                                  senderSid: sender.info.sid, hidden: sender.hidden,
                                                  senderIsAgent: sender.isAgent)
        } catch {
            return tally.drop(.malformed)
        }
        // The sequence is checked before the payload kind, as livekit-server does.
        if lane == .reliable, relayed.packet.sequence > 0 {
            guard relayed.packet.sequence > sender.lastReliableSequence else { return tally.drop(.repeated) }
            members[participantSID]?.lastReliableSequence = relayed.packet.sequence
        }
        if let refusal = relayed.notRelayed { return tally.drop(.notRelayed(refusal)) }
        if case .user(let user)? = relayed.packet.value, recentNonces.isRepeat(user.nonce) {
            return tally.drop(.repeated)
        }
        var recipients = 0
        for sid in order where sid != participantSID {
            guard let member = members[sid], relayed.isAddressed(toIdentity: member.info.identity, sid: sid) else { continue }
            member.session.deliverDataPacket(relayed.bytes, lane: lane)
            recipients += 1
        }
        tally.relayed(to: recipients)
    }

    // MARK: - Helpers

    /// The participant's current info to the other members, unless it is hidden
    /// (livekit-server `broadcastParticipantState`: a hidden participant's updates go to itself
    /// only; `SendParticipantUpdate` skips hidden participants' infos for everyone else).
    private func broadcastParticipantState(of participantSID: String) {
        guard let member = members[participantSID], !member.hidden else { return }
        broadcast(member.info, to: order.filter { $0 != participantSID })
    }

    /// One ParticipantUpdate carrying `info`, encoded once, into each recipient's outbox,
    /// replacing an unsent update about the same participant.
    private func broadcast(_ info: Livekit_ParticipantInfo, to recipients: [String]) {
        var update = Livekit_ParticipantUpdate()
        update.participants = [info]
        var response = Livekit_SignalResponse()
        response.message = .update(update)
        guard let bytes: [UInt8] = try? response.serializedBytes() else { return }
        for sid in recipients {
            members[sid]?.session.send(encoded: bytes, key: .participant(info.sid))
        }
    }

    private func roomInfo() -> Livekit_Room {
        var room = Livekit_Room()
        room.sid = sid
        room.name = name
        room.creationTime = Int64(createdAt.timeIntervalSince1970)
        room.creationTimeMs = Int64(createdAt.timeIntervalSince1970 * 1000)
        room.numParticipants = UInt32(members.count)
        room.numPublishers = UInt32(members.values.filter { $0.info.isPublisher }.count)
        room.emptyTimeout = 300
        room.departureTimeout = 20
        return room
    }

    private static func kind(_ name: String?) -> Livekit_ParticipantInfo.Kind {
        switch name {
        case "ingress": .ingress
        case "egress": .egress
        case "sip": .sip
        case "agent": .agent
        default: .standard
        }
    }
}

/// What the server says about itself in every join response (`server_version`, `server_info`).
struct ServerIdentity: Sendable {
    var version: String
    var info: Livekit_ServerInfo

    static func make(version: String = RoomServer.version) -> ServerIdentity {
        var info = Livekit_ServerInfo()
        info.edition = .standard
        info.version = version
        // The protocol version the SDK captures show a server announcing (docs/WIRE.md).
        info.protocol = 16
        info.nodeID = Identifiers.node()
        return ServerIdentity(version: version, info: info)
    }
}
