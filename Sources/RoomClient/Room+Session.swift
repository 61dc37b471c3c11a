import DataTracks
import Foundation
import LiveKitProtocol
import WebRTCData

/// Signal session: join, offer/answer, trickle, ping, leave, reconnect (docs/WIRE.md).
extension Room {
    // MARK: Join

    /// One signal session with its peer connection(s): ready when the join response is in, the
    /// publisher connection is up and `_data_track` is open.
    func establishSession() async throws(RoomClientError) {
        generation += 1
        let session = generation
        closeFrameLosses()
        handleMap.reset()
        subscribedSids = [:]
        let timeout = options.timeout

        let publisher = try makePeerConnection()
        self.publisher = publisher
        // The SDK's three channels on the publisher connection (captures: ids 1, 3, 5).
        let dataTrack: DataChannel
        let reliable: DataChannel
        do {
            // `_reliable` carries RPC both ways (on /rtc/v1 the server answers on our own
            // channels); `_lossy` is not read: what the server relays there is discarded as it
            // arrives (unread, it would hold back `_data_track` on the same connection).
            reliable = try await publisher.createDataChannel("_reliable")
            try await publisher.createDataChannel("_lossy", ordered: false, maxRetransmits: 0).discardIncomingMessages()
            dataTrack = try await publisher.createDataChannel("_data_track", ordered: false, maxRetransmits: 0)
        } catch {
            throw .peerConnection(stage: "creating data channels", reason: "\(error)")
        }
        dataTrackChannel = dataTrack
        reliableChannel = reliable
        let offer: String
        do { offer = try await publisher.createOffer() } catch {
            throw .peerConnection(stage: "creating the offer", reason: "\(error)")
        }

        let joinWaiter = OneShot<Result<Livekit_JoinResponse, RoomClientError>>()
        self.joinWaiter = joinWaiter
        let answered = OneShot<Void>()
        publisherAnswered = answered

        let signal = try await openSignal(offer: offer)
        self.signal = signal
        sessionTasks.append(Task { [weak self] in
            for await response in signal.responses {
                await self?.handle(response, session: session)
            }
            let reason = signal.closeReason.withLock { $0 } ?? "closed"
            await self?.sessionLost(session: session, reason: "signal connection: \(reason)")
        })
        let timer = Task {
            try? await Task.sleep(for: timeout)
            joinWaiter.fulfil(.failure(.timeout("join response")))
        }
        // `handle` already applied it, in order with the updates that follow it.
        _ = try await joinWaiter.value.get()
        timer.cancel()

        if mode == .twoPeerConnections {
            // /rtc: the publisher offer goes as a signal message (capture `dual-pc`).
            signal.send(SignalRequests.sessionDescription("offer", sdp: offer))
        }
        watch(publisher, target: .publisher, session: session)
        watchDataTrackChannel(dataTrack, session: session)
        watchReliableChannel(reliable, session: session)

        // Ready once ICE, DTLS and SCTP are up and `_data_track` opened.
        let opened = OneShot<Result<Void, RoomClientError>>()
        let openTask = Task {
            do {
                try await dataTrack.opened()
                opened.fulfil(.success(()))
            } catch {
                opened.fulfil(.failure(.peerConnection(stage: "opening _data_track", reason: "\(error)")))
            }
        }
        let openTimer = Task {
            try? await Task.sleep(for: timeout)
            opened.fulfil(.failure(.timeout("publisher peer connection and _data_track")))
        }
        let result = await opened.value
        openTask.cancel()
        openTimer.cancel()
        try result.get()
        guard session == generation else { throw .signalClosed("session replaced while connecting") }
        startPinging(session: session)
    }

    private func makePeerConnection() throws(RoomClientError) -> PeerConnection {
        let addresses = localAddresses().map { TransportAddress(ip: $0, port: 0) }
        do {
            return try PeerConnection(PeerConnection.Configuration(addresses: addresses))
        } catch {
            throw .peerConnection(stage: "creating", reason: "\(error)")
        }
    }

    /// Addresses for our ICE candidates (RoomOptions.addresses).
    func localAddresses() -> [IPAddress] {
        if let given = options.addresses, !given.isEmpty { return given }
        var addresses = NetworkInterfaces.addresses(includeLoopback: false, includeIPv6: false).map(\.ip)
        let host = URLComponents(string: url)?.host ?? ""
        let loopback = IPAddress("127.0.0.1")
        if host == "localhost" || IPAddress(host)?.isLoopback == true || addresses.isEmpty, let loopback {
            addresses.append(loopback)
        }
        return addresses
    }

    /// `/rtc/v1?join_request=…` first; on HTTP 404 `/rtc` with query parameters (the SDKs'
    /// fallback, docs/WIRE.md). A refusal with another status carries the server's reason.
    private func openSignal(offer: String) async throws(RoomClientError) -> SignalConnection {
        if mode == .singlePeerConnection {
            let target = SignalRequests.singlePeerConnectionTarget(publisherOffer: offer, autoSubscribe: options.autoSubscribe)
            do {
                return try await SignalConnection.open(url: url + target, token: token,
                                                       timeout: options.timeout)
            } catch {
                guard case .signalRefused(_, _, let reason) = error else { throw error }
                let status = await probeStatus(path: "/rtc/v1/validate")
                guard status?.status == 404 else {
                    throw .signalRefused(path: url + "/rtc/v1", status: status?.status, reason: status?.body ?? reason)
                }
                mode = .twoPeerConnections
            }
        }
        do {
            return try await SignalConnection.open(url: url + SignalRequests.twoPeerConnectionsTarget(autoSubscribe: options.autoSubscribe),
                                                   token: token, timeout: options.timeout)
        } catch {
            guard case .signalRefused(_, _, let reason) = error else { throw error }
            let status = await probeStatus(path: "/rtc/validate")
            throw .signalRefused(path: url + "/rtc", status: status?.status, reason: status?.body ?? reason)
        }
    }

    private func probeStatus(path: String) async -> HTTPStatusProbe.Response? {
        guard url.hasPrefix("ws://"), let components = URLComponents(string: url), let host = components.host else { return nil }
        return await HTTPStatusProbe.get(host: host, port: components.port ?? 80, pathAndQuery: path, token: token)
    }

    static func queryEscaped(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-_.~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    private func applyJoin(_ join: Livekit_JoinResponse) throws(RoomClientError) {
        guard join.hasParticipant, !join.participant.identity.isEmpty else {
            throw .protocolViolation("join response without participant")
        }
        localIdentity = join.participant.identity
        localSid = join.participant.sid
        roomName = join.room.name
        roomSid = join.room.sid
        let now = Self.monotonicMs()
        liveness = SignalLiveness(intervalSeconds: join.pingInterval > 0 ? join.pingInterval : 5,
                                  timeoutSeconds: join.pingTimeout > 0 ? join.pingTimeout : 15, nowMs: now)
        applyParticipants(join.otherParticipants, fromJoin: true)
    }

    // MARK: Signal responses

    func handle(_ response: Livekit_SignalResponse, session: Int) async {
        guard session == generation, state != .closed else { return }
        switch response.message {
        case .join(let join)?:
            // Applied here, not after `connect` resumes: a ParticipantUpdate right behind the
            // join (someone joining just after us) must land on the join's list, not under it.
            do {
                try applyJoin(join)
                joinWaiter?.fulfil(.success(join))
            } catch {
                joinWaiter?.fulfil(.failure(error))
            }
        case .answer(let answer)?:
            guard let publisher else { return }
            do {
                try await publisher.setRemoteDescription(answer.sdp)
                publisherAnswered?.fulfil(())
            } catch {
                sessionLost(session: session, reason: "publisher answer rejected: \(error)")
            }
        case .offer(let offer)?:
            await answerSubscriberOffer(offer, session: session)
        case .trickle(let trickle)?:
            guard let candidate = try? ICECandidateInit(json: trickle.candidateInit) else { return }
            let target = trickle.target == .subscriber && mode == .twoPeerConnections ? subscriber : publisher
            try? await target?.addRemoteCandidate(candidate)
        case .update(let update)?:
            applyParticipants(update.participants, fromJoin: false)
        case .pongResp(let pong)?:
            liveness?.ponged(echoedMs: pong.lastPingTimestamp, nowMs: Self.monotonicMs())
        case .pong?:
            liveness?.ponged(echoedMs: 0, nowMs: Self.monotonicMs())
        case .leave(let leave)?:
            switch leave.action {
            case .reconnect, .resume:
                sessionLost(session: session, reason: "server asked to reconnect")
            default:
                // A shutdown is a restart from our side: LiveKit marks it reconnectable
                // (`can_reconnect`, "server-restart … attempt full-reconnect"), and a server that
                // does not still comes back; the schedule gives up if it does not.
                if leave.canReconnect || leave.reason == .serverShutdown {
                    sessionLost(session: session, reason: "server leave (can reconnect)")
                } else {
                    close(reason: "server leave: \(leave.reason)")
                }
            }
        case .publishDataTrackResponse(let published)?:
            publishConfirmed(published.info)
        case .unpublishDataTrackResponse?:
            break
        case .dataTrackSubscriberHandles(let handles)?:
            applySubscriberHandles(handles)
        case .trackSubscribed(let subscribed)?:
            localTrackSubscribed(sid: subscribed.trackSid)
        case .requestResponse(let response)?:
            requestFailed(response)
        default:
            break
        }
    }

    /// `/rtc` mode: the server offers the subscriber connection (at once with
    /// `subscriber_primary`, else when there is something to subscribe to); we answer with the
    /// offer's id and read the server's `_data_track` channel on it.
    private func answerSubscriberOffer(_ offer: Livekit_SessionDescription, session: Int) async {
        if let old = subscriber {
            // Our data-only stack does not renegotiate: a new offer gets a new connection.
            subscriber = nil
            await old.close()
        }
        do {
            let pc = try makePeerConnection()
            subscriber = pc
            try await pc.setRemoteDescription(offer.sdp)
            let answer = try await pc.createAnswer()
            guard session == generation else { return }
            signal?.send(SignalRequests.sessionDescription("answer", sdp: answer, id: offer.id))
            watch(pc, target: .subscriber, session: session)
        } catch {
            sessionLost(session: session, reason: "subscriber offer: \(error)")
        }
    }

    /// Trickles the connection's candidates, follows its state, reads channels the server opens.
    private func watch(_ pc: PeerConnection, target: Livekit_SignalTarget, session: Int) {
        let signal = self.signal
        sessionTasks.append(Task {
            for await candidate in pc.localCandidates where !candidate.isEndOfCandidates {
                signal?.send(SignalRequests.trickle(candidate, target: target))
            }
        })
        sessionTasks.append(Task { [weak self] in
            for await state in pc.connectionStates {
                if state == .failed || state == .closed {
                    await self?.sessionLost(session: session, reason: "\(target) peer connection \(state)")
                    return
                }
            }
        })
        sessionTasks.append(Task { [weak self] in
            for await channel in pc.incomingDataChannels {
                if channel.label == "_reliable" {
                    // /rtc: the server's DataPackets (RPC) come on its subscriber-side channel.
                    await self?.watchReliableChannel(channel, session: session)
                    continue
                }
                guard channel.label == "_data_track" else {
                    // `_lossy` (DataPackets) and anything else: not read here.
                    channel.discardIncomingMessages()
                    continue
                }
                await self?.watchDataTrackChannel(channel, session: session)
            }
        })
    }

    func watchDataTrackChannel(_ channel: DataChannel, session: Int) {
        sessionTasks.append(Task { [weak self] in
            for await message in channel.messages {
                guard let self else { return }
                await self.receivePacket(message.bytes, session: session)
            }
        })
    }

    func watchReliableChannel(_ channel: DataChannel, session: Int) {
        sessionTasks.append(Task { [weak self] in
            for await message in channel.messages {
                guard let self else { return }
                await self.receiveReliable(message.bytes, session: session)
            }
        })
    }

    // MARK: Ping

    private func startPinging(session: Int) {
        sessionTasks.append(Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                guard let self, await self.pingTick(session: session) else { return }
            }
        })
    }

    /// Sends `ping_req` when due; false once the session is over or timed out.
    private func pingTick(session: Int) -> Bool {
        guard session == generation, state == .connected || state == .connecting, var liveness else {
            return session == generation && state != .closed
        }
        let now = Self.monotonicMs()
        if liveness.timedOut(nowMs: now) {
            sessionLost(session: session, reason: "no pong for \(liveness.timeoutMs) ms")
            return false
        }
        if liveness.pingDue(nowMs: now) {
            let wire = Self.unixMs()
            signal?.send(SignalRequests.ping(timestampMs: wire, rttMs: liveness.rttMs))
            liveness.pinged(nowMs: now, wireTimestampMs: wire)
        }
        self.liveness = liveness
        expirePendingSubscriptions()
        return true
    }

    /// Unix milliseconds, for the wire.
    static func unixMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    /// Milliseconds of CLOCK_MONOTONIC, for timing the signal connection.
    static func monotonicMs() -> Int64 { monotonicNs() / 1_000_000 }

    /// Nanoseconds of CLOCK_MONOTONIC: a wall clock step must not settle or delay losses.
    static func monotonicNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    // MARK: Loss and reconnect

    /// The signal or a peer connection of session `session` is gone.
    func sessionLost(session: Int, reason: String) {
        guard session == generation else { return }
        joinWaiter?.fulfil(.failure(.signalClosed(reason)))
        guard state == .connected else { return }
        guard options.reconnect else {
            close(reason: reason)
            return
        }
        state = .reconnecting
        statistics.reconnects += 1
        tearDownSession()
        emit(.reconnecting(reason: reason))
        Task { await self.reconnect() }
    }

    private func reconnect() async {
        let schedule = ReconnectSchedule.standard
        do {
            _ = try await schedule.run(sleep: { try await Task.sleep(for: $0) }) { _ in
                try await self.rejoinOnce()
            }
        } catch {
            close(reason: "reconnect failed: \(error)")
            return
        }
        guard state == .reconnecting else { return }
        state = .connected
        emit(.reconnected)
    }

    /// One re-join: a new session (same token, so the same identity; the server replaces the
    /// old one), our tracks again with their handles, then subscriptions renewed.
    private func rejoinOnce() async throws(RoomClientError) {
        guard state == .reconnecting else { throw .notConnected }
        do {
            try await establishSession()
            pendingUntil = .now + Self.republishGrace
            for handle in localTracks.keys.sorted() {
                guard let local = localTracks[handle] else { continue }
                let publication = try await requestPublish(local.publication)
                localTracks[handle]?.publication.sid = publication.sid
                local.track.setSid(publication.sid)
            }
        } catch {
            tearDownSession()
            throw error
        }
        syncSubscriptions()
    }

    /// Closes the session's signal and connections and stops its tasks.
    func tearDownSession() {
        generation += 1
        closeFrameLosses()
        for task in sessionTasks { task.cancel() }
        sessionTasks = []
        signal?.close()
        signal = nil
        let pcs = [publisher, subscriber].compactMap { $0 }
        publisher = nil
        subscriber = nil
        dataTrackChannel = nil
        reliableChannel = nil
        Task { for pc in pcs { await pc.close() } }
        joinWaiter?.fulfil(.failure(.signalClosed("session closed")))
        joinWaiter = nil
        for pending in pendingPublishes.values { pending.fulfil(.failure(.signalClosed("session closed"))) }
        pendingPublishes = [:]
    }
}
