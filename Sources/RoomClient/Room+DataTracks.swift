import DataTracks
import LiveKitProtocol
import WebRTCData

/// Data tracks: publish, unpublish, subscribe, and the packets both ways (docs/WIRE.md).
extension Room {
    // MARK: Publish

    func publish(name: String, frameEncoding: DataTrackFrameEncoding?, schema: String?, schemaEncoding: String? = nil,
                 encrypted: Bool? = nil) async throws(RoomClientError) -> LocalDataTrack {
        guard state == .connected else { throw .notConnected }
        guard !name.isEmpty, name.count <= 256 else { throw .invalidArgument("track name must be 1…256 characters") }
        let encrypted = encrypted ?? (cryptor != nil)
        if encrypted, cryptor == nil, !options.e2eePassthrough {
            throw .invalidArgument("an encrypted track needs E2EE keys or E2EE passthrough (RoomOptions)")
        }
        guard let handle = handles.allocate() else { throw .invalidArgument("all 65,535 track handles in use") }
        let request = DataTrackPublication(handle: handle, name: name, encrypted: encrypted,
                                           frameEncoding: frameEncoding, schema: schema, schemaEncoding: schemaEncoding)
        let confirmed: DataTrackPublication
        do {
            confirmed = try await requestPublish(request)
        } catch {
            handles.release(handle)
            throw error
        }
        let packetizer: Packetizer
        do { packetizer = try Packetizer(handle: handle) } catch {
            handles.release(handle)
            throw .invalidArgument("handle \(handle): \(error)")
        }
        let (track, queue) = LocalDataTrack.make(handle: handle, name: name, room: self)
        track.setSid(confirmed.sid)
        let sender = Task { [weak self] in
            for await frame in queue {
                guard let self else { return }
                await self.sendFrame(handle: handle, frame)
            }
        }
        localTracks[handle] = LocalTrackState(publication: confirmed, packetizer: packetizer, track: track, sender: sender)
        return track
    }

    /// Sends `PublishDataTrackRequest` and waits for its response (or the `RequestResponse`
    /// that rejects it).
    func requestPublish(_ publication: DataTrackPublication) async throws(RoomClientError) -> DataTrackPublication {
        guard let signal else { throw .notConnected }
        let waiter = OneShot<Result<DataTrackPublication, RoomClientError>>()
        pendingPublishes[publication.handle]?.fulfil(.failure(.invalidArgument("superseded")))
        pendingPublishes[publication.handle] = waiter
        signal.send(SignalRequests.publishDataTrack(publication))
        let timeout = options.timeout
        let timer = Task {
            try? await Task.sleep(for: timeout)
            waiter.fulfil(.failure(.timeout("publish_data_track_response for \(publication.name)")))
        }
        let result = await waiter.value
        timer.cancel()
        if pendingPublishes[publication.handle] === waiter { pendingPublishes[publication.handle] = nil }
        var confirmed = try result.get()
        confirmed.encrypted = publication.encrypted
        return confirmed
    }

    /// `TrackSubscribed` naming one of our data tracks: a participant subscribed to it (trackbag's
    /// server sends one per new subscription). A sid we do not publish (a media track's, or one
    /// from before a re-join) is ignored.
    func localTrackSubscribed(sid: String) {
        guard !sid.isEmpty, let local = localTracks.values.first(where: { $0.publication.sid == sid }) else { return }
        emit(.localDataTrackSubscribed(local.track))
    }

    func publishConfirmed(_ info: Livekit_DataTrackInfo) {
        guard let publication = DataTrackPublication(info) else { return }
        pendingPublishes.removeValue(forKey: publication.handle)?.fulfil(.success(publication))
    }

    func requestFailed(_ response: Livekit_RequestResponse) {
        guard response.reason != .ok else { return }
        let reason = Self.reasonName(response.reason)
        switch response.request {
        case .publishDataTrack(let request)?:
            guard let handle = UInt16(exactly: request.pubHandle) else { return }
            pendingPublishes.removeValue(forKey: handle)?
                .fulfil(.failure(.requestRejected(reason: reason, message: response.message)))
        case .updateMetadata?:
            statistics.attributeUpdatesRefused += 1
        default:
            break
        }
    }

    static func reasonName(_ reason: Livekit_RequestResponse.Reason) -> String {
        switch reason {
        case .ok: "OK"
        case .notFound: "NOT_FOUND"
        case .notAllowed: "NOT_ALLOWED"
        case .limitExceeded: "LIMIT_EXCEEDED"
        case .queued: "QUEUED"
        case .unsupportedType: "UNSUPPORTED_TYPE"
        case .unclassifiedError: "UNCLASSIFIED_ERROR"
        case .invalidHandle: "INVALID_HANDLE"
        case .invalidName: "INVALID_NAME"
        case .duplicateHandle: "DUPLICATE_HANDLE"
        case .duplicateName: "DUPLICATE_NAME"
        case .invalidRequest: "INVALID_REQUEST"
        case .UNRECOGNIZED(let code): "REASON_\(code)"
        }
    }

    func unpublish(handle: UInt16) async {
        guard let local = localTracks.removeValue(forKey: handle) else { return }
        local.track.close()
        local.sender?.cancel()
        handles.release(handle)
        signal?.send(SignalRequests.unpublishDataTrack(handle: handle))
    }

    // MARK: Sending

    /// Encrypts (E2EE), packetizes and sends one frame on `_data_track`, one packet per message.
    /// While the room is re-joining there is no channel: the frame is not sent and counted.
    func sendFrame(handle: UInt16, _ frame: DataTrackFrame) async {
        guard state == .connected, let channel = dataTrackChannel, var local = localTracks[handle] else {
            statistics.framesNotSent += 1
            return
        }
        var payload = frame.payload
        var e2ee = frame.e2ee
        let packets: [[UInt8]]
        do {
            if e2ee != nil {
                // Already encrypted (passthrough): only onto an encrypted track, never as plaintext.
                guard local.publication.encrypted else {
                    statistics.framesNotSent += 1
                    return
                }
            } else if local.publication.encrypted {
                guard cryptor != nil else {
                    statistics.framesNotSent += 1
                    return
                }
                // In place: a copy would duplicate the key ring on every frame (copy on write).
                (payload, e2ee) = try cryptor!.encrypt(payload, participant: localIdentity)
            }
            packets = try local.packetizer.packetizeEncoded(payload: payload, userTimestamp: frame.userTimestamp, e2ee: e2ee)
        } catch {
            statistics.framesNotSent += 1
            return
        }
        // Written back before the first await: sends of later frames see the new sequence.
        localTracks[handle] = local
        do {
            for packet in packets { try await channel.send(packet) }
            statistics.framesSent += 1
        } catch {
            statistics.framesNotSent += 1
        }
        // A backlog SCTP cannot send yet stays bounded: the sender waits here, so the track's
        // 16-frame queue fills and `tryPush` reports `.dropped` to the publisher.
        if channel.bufferedAmount > Self.sendHighWater {
            channel.bufferedAmountLowThreshold = Self.sendHighWater / 4
            await channel.bufferedAmountLow()
        }
    }

    /// Bytes `_data_track` may hold unsent before the sender waits.
    static let sendHighWater = 1 << 20

    // MARK: Subscribing

    func subscribe(identity: String, handle: UInt16, bufferSize: Int) async throws(RoomClientError) -> DataTrackSubscription {
        guard state != .closed else { throw .notConnected }
        guard bufferSize > 0 else { throw .invalidArgument("bufferSize must be at least 1") }
        let key = RemoteTrackKey(identity: identity, handle: handle)
        guard remote[identity]?.tracks[handle] != nil else {
            throw .invalidArgument("\(identity) has no data track with handle \(handle)")
        }
        var fanout = subscriptions[key] ?? SubscriptionFanout()
        let (_, subscription) = fanout.add(bufferSize: bufferSize) { [weak self] id in
            Task { await self?.subscriptionEnded(key, id: id) }
        }
        subscriptions[key] = fanout
        syncSubscriptions()
        return subscription
    }

    func subscriptionEnded(_ key: RemoteTrackKey, id: Int) {
        subscriptions[key]?.remove(id)
        if subscriptions[key]?.isEmpty == true { subscriptions[key] = nil }
        syncSubscriptions()
    }

    /// Makes the server's subscriptions match ours: one `UpdateDataSubscription` per change,
    /// whatever the number of local subscriptions of a track; after a re-join, tracks are found
    /// again by (publisher identity, handle) under their new sids.
    func syncSubscriptions() {
        guard let signal else { return }
        var subscribe: [String] = []
        var unsubscribe: [String] = []
        for key in subscriptions.keys {
            guard let sid = remote[key.identity]?.tracks[key.handle]?.sid, !sid.isEmpty else { continue }
            if subscribedSids[key] != sid {
                subscribedSids[key] = sid
                subscribe.append(sid)
            }
        }
        for (key, sid) in subscribedSids where subscriptions[key] == nil {
            subscribedSids[key] = nil
            unsubscribe.append(sid)
        }
        if !subscribe.isEmpty { signal.send(SignalRequests.updateDataSubscription(subscribe: true, trackSids: subscribe.sorted())) }
        if !unsubscribe.isEmpty { signal.send(SignalRequests.updateDataSubscription(subscribe: false, trackSids: unsubscribe.sorted())) }
    }

    func applySubscriberHandles(_ snapshot: Livekit_DataTrackSubscriberHandles) {
        for handle in handleMap.apply(snapshot) { closeFrameLosses(handle: handle) }
    }

    /// Subscriptions whose track did not come back within its grace end now.
    func expirePendingSubscriptions() {
        let now = ContinuousClock.now
        if let deadline = pendingUntil, now >= deadline { pendingUntil = nil }
        var changed = false
        for (key, deadline) in pendingTracks where now >= deadline {
            pendingTracks[key] = nil
            guard remote[key.identity]?.tracks[key.handle] == nil else { continue }
            subscriptions[key]?.finishAll()
            subscriptions[key] = nil
            changed = true
        }
        if changed { syncSubscriptions() }
    }

    // MARK: Participants

    /// Applies participant infos from the join response (`fromJoin`: the complete list) or a
    /// `ParticipantUpdate` (changes only), emitting events for what changed.
    func applyParticipants(_ infos: [Livekit_ParticipantInfo], fromJoin: Bool) {
        var seen = Set<String>()
        for info in infos where info.identity != localIdentity && !info.identity.isEmpty {
            seen.insert(info.identity)
            if info.state == .disconnected {
                // The same identity may already be back under a new sid (session replaced).
                guard let known = remote[info.identity], known.sid == info.sid || info.sid.isEmpty else { continue }
                // A server restart or a replaced session: the publisher is likely to come back
                // with the same handles, so its subscriptions wait for it.
                let transient = [.serverShutdown, .duplicateIdentity, .migration, .signalClose].contains(info.disconnectReason)
                removeParticipant(known, expectBack: transient)
                continue
            }
            var participant = remote[info.identity]
                ?? RemoteParticipantState(identity: info.identity, sid: info.sid, version: 0, tracks: [:])
            let isNew = remote[info.identity] == nil
            if !isNew, participant.sid == info.sid, info.version != 0, info.version < participant.version { continue }
            // A new sid for a known identity: the publisher re-joined and will re-publish.
            let rejoined = !isNew && participant.sid != info.sid
            participant.sid = info.sid
            participant.version = info.version
            var tracks: [UInt16: DataTrackPublication] = [:]
            for trackInfo in info.dataTracks {
                if let publication = DataTrackPublication(trackInfo) { tracks[publication.handle] = publication }
            }
            let old = participant.tracks
            participant.tracks = tracks
            remote[info.identity] = participant
            if isNew { emit(.participantConnected(snapshot(of: participant))) }
            for (handle, publication) in old where tracks[handle]?.name != publication.name {
                trackRemoved(RemoteTrackKey(identity: info.identity, handle: handle), publication, expectBack: rejoined)
            }
            for handle in tracks.keys { pendingTracks[RemoteTrackKey(identity: info.identity, handle: handle)] = nil }
            for (handle, publication) in tracks.sorted(by: { $0.key < $1.key })
            where old[handle]?.name != publication.name || old[handle]?.sid != publication.sid {
                let track = RemoteDataTrack(publisherIdentity: info.identity, info: publication, room: self)
                emit(.dataTrackPublished(track))
                resolveWaiters(track)
            }
        }
        if fromJoin {
            // After a re-join: whoever is not in the room now has left (their subscriptions wait
            // for the grace period in case they re-join too).
            for (identity, participant) in remote where !seen.contains(identity) {
                removeParticipant(participant, expectBack: true)
            }
        }
        syncSubscriptions()
    }

    private func removeParticipant(_ participant: RemoteParticipantState, expectBack: Bool) {
        remote[participant.identity] = nil
        for (handle, publication) in participant.tracks {
            trackRemoved(RemoteTrackKey(identity: participant.identity, handle: handle), publication, expectBack: expectBack)
        }
        emit(.participantDisconnected(snapshot(of: participant)))
        rpcParticipantLeft(participant.identity)
    }

    /// A track is gone. Its subscriptions end, unless it is expected back (its publisher or we
    /// are re-joining): then they wait `Room.republishGrace` for the same (identity, handle).
    private func trackRemoved(_ key: RemoteTrackKey, _ publication: DataTrackPublication, expectBack: Bool) {
        emit(.dataTrackUnpublished(RemoteDataTrack(publisherIdentity: key.identity, info: publication, room: self)))
        subscribedSids[key] = nil
        let inGrace = pendingUntil.map { ContinuousClock.now < $0 } ?? false
        if (expectBack || inGrace), subscriptions[key] != nil {
            pendingTracks[key] = .now + Self.republishGrace
            return
        }
        subscriptions[key]?.finishAll()
        subscriptions[key] = nil
    }

    private func resolveWaiters(_ track: RemoteDataTrack) {
        trackWaiters.removeAll { entry in
            guard entry.key.0 == track.publisherIdentity, entry.key.1 == track.name else { return false }
            entry.waiter.fulfil(track)
            return true
        }
    }

    // MARK: Losses

    /// Skipped frame numbers that stayed away long enough count missing now, on every track
    /// (a track that went quiet is settled here, not by its next packet).
    public func settleFrameLosses() {
        let now = Self.monotonicNs()
        for (handle, var losses) in frameLosses {
            let depacketizer = depacketizers[handle]
            let change = losses.ledger.settle(nowNs: now) { depacketizer?.holds(frameNumber: $0) ?? false }
            frameLosses[handle] = losses
            if !change.isZero { subscriptions[losses.key]?.countLost(change) }
        }
    }

    /// The handle's track ends here (handle reassigned, session over, room left): frames it
    /// holds in part count incomplete, numbers still skipped count missing.
    func closeFrameLosses(handle: UInt16) {
        let held = depacketizers.removeValue(forKey: handle)
        guard var losses = frameLosses.removeValue(forKey: handle) else { return }
        let now = Self.monotonicNs()
        var change = FrameLossLedger.Change()
        if var held {
            for drop in held.flush() { change += losses.ledger.dropped(drop.frameNumber, nowNs: now) }
        }
        change += losses.ledger.close()
        if !change.isZero { subscriptions[losses.key]?.countLost(change) }
    }

    /// Every handle's track ends here.
    func closeFrameLosses() {
        for handle in Set(depacketizers.keys).union(frameLosses.keys) { closeFrameLosses(handle: handle) }
    }

    // MARK: Receiving

    /// One data-track packet from the server: the handle is our subscriber handle; frames are
    /// reassembled per handle, decrypted when the track is encrypted, and fanned out.
    func receivePacket(_ bytes: [UInt8], session: Int) {
        guard session == generation else { return }
        statistics.packetsReceived += 1
        guard let handle = try? DataTrackPacket.handle(of: bytes) else {
            statistics.malformedPackets += 1
            return
        }
        guard let entry = handleMap[handle],
              let participant = remote[entry.publisherIdentity],
              let publication = participant.tracks.values.first(where: { $0.sid == entry.trackSid }) else {
            statistics.unknownHandlePackets += 1
            return
        }
        let key = RemoteTrackKey(identity: participant.identity, handle: publication.handle)
        if let previous = frameLosses[handle], previous.key != key || previous.sid != publication.sid {
            // The handle now carries another track, or this one published anew: what was
            // held and skipped belongs to the old one.
            closeFrameLosses(handle: handle)
        }
        // The depacketizer and the ledger are changed where they are stored: a copy taken out
        // of the dictionary and written back would duplicate their buffers on every packet
        // (copy on write), which under loss is a ledger of up to 2,048 numbers per packet.
        let output: Depacketizer.Output
        do {
            output = try depacketizers[handle, default: Depacketizer()].push(encoded: bytes)
        } catch {
            statistics.malformedPackets += 1
            return
        }
        statistics.depacketizerDrops += output.drops.count
        // Losses per track, for the subscriptions to report: frames that arrived incomplete,
        // and frames of which nothing arrived (their numbers skipped), each counted once.
        if frameLosses[handle] == nil { frameLosses[handle] = TrackLosses(key: key, sid: publication.sid) }
        let now = Self.monotonicNs()
        var change = FrameLossLedger.Change()
        for drop in output.drops { change += frameLosses[handle]!.ledger.dropped(drop.frameNumber, nowNs: now) }
        if let frame = output.frame { change += frameLosses[handle]!.ledger.delivered(frame.frameNumber, nowNs: now) }
        let depacketizer = depacketizers[handle]
        change += frameLosses[handle]!.ledger.settle(nowNs: now) { depacketizer?.holds(frameNumber: $0) ?? false }
        if !change.isZero { subscriptions[key]?.countLost(change) }
        guard let frame = output.frame else { return }
        guard let fanout = subscriptions[key] else { return }
        var delivered = DataTrackFrame(payload: frame.payload, userTimestamp: frame.userTimestamp)
        if !publication.encrypted, frame.e2ee == nil, cryptor != nil, options.e2ee?.strict == true {
            // Strict E2EE: we hold keys, and a track labelled unencrypted is only the server's
            // word; a plaintext frame could be the server's own, so it is refused.
            e2eeDropped { $0.plaintextRefused += 1 }
            return
        }
        if publication.encrypted || frame.e2ee != nil {
            if options.e2eePassthrough {
                guard let e2ee = frame.e2ee else {
                    e2eeDropped { $0.missingExtension += 1 }
                    return
                }
                delivered.e2ee = e2ee
            } else {
                guard cryptor != nil else {
                    e2eeDropped { $0.noKeyProvider += 1 }
                    return
                }
                do {
                    // In place, as for encryption.
                    delivered = try cryptor!.decrypt(frame, participant: participant.identity)
                } catch {
                    e2eeDropped { drops in
                        switch error {
                        case .missingE2EEExtension: drops.missingExtension += 1
                        case .unknownKeyIndex: drops.unknownKeyIndex += 1
                        default: drops.authenticationFailed += 1
                        }
                    }
                    return
                }
            }
        }
        statistics.framesReceived += 1
        statistics.subscriberBufferDrops += fanout.deliver(delivered)
    }

    private func e2eeDropped(_ count: (inout E2EEDrops) -> Void) {
        count(&statistics.e2eeDrops)
        statistics.decryptFailures = statistics.e2eeDrops.total
    }
}
