import DataTracks
import Foundation
import LiveKitProtocol
import Logging
import Synchronization
import WebRTCData

/// One participant's connection to the server: its signal outbox, its peer connection(s), the
/// channels it is served on, and its packet queues. The actor owns the peer connections and
/// signal handling; what the room pushes (signal responses, packets) goes through `send`,
/// `deliverDataPacket` and `dataTrackQueue`, which never block the room. The outbox is bounded
/// (`SignalOutbox`): a participant that does not read its signal connection loses it, as with
/// livekit-server.
///
/// What a participant sends that nobody reads costs nothing: channels with a label we do not
/// serve, channels it opens on its subscriber connection, and what it writes into our own
/// subscriber-side channels are discarded as they arrive (`DataChannel.discardIncomingMessages`),
/// so SCTP keeps its window open and no memory grows. What it is sent is bounded per queue:
/// data-track packets and DataPackets wait in `SubscriberQueue`s (bounds and drop rule there;
/// `DataLane.queue()`), and each sender waits while its channel holds more than
/// `SubscriberQueue.transportHighWater` unsent, so a slow subscriber's backlog shows in our
/// counted queues instead of growing inside SCTP.
///
/// Modes (docs/WIRE.md): on `/rtc/v1` one peer connection, offered by the client with the join
/// request; we answer and reply on the client's own channels. On `/rtc` the client offers a
/// publisher connection and, with `subscriber_primary` (set when it may subscribe, as
/// livekit-server does), we offer a subscriber connection at once and serve it on our own
/// `_reliable`, `_lossy` and `_data_track` channels there.
///
/// Ending: `leave` removes the participant at once (CLIENT_INITIATED); a signal connection
/// that closes without one leaves it in the room, peer connections and forwarding running, for
/// `SignalLossWindow` (as livekit-server), so a re-join of the same identity replaces it
/// (DUPLICATE_IDENTITY) instead of subscribers seeing it go; else it goes with SIGNAL_CLOSE.
actor ParticipantSession {
    nonisolated let sid: String
    nonisolated let identity: String
    nonisolated let parameters: JoinParameters
    /// Encoded signal responses for the WebSocket writer, in order; finishes when the session
    /// ends or the signal connection is lost.
    nonisolated let outbox: SignalOutbox
    nonisolated let dataTrackQueue: SubscriberQueue
    nonisolated var subscriberPrimary: Bool {
        parameters.path == .dualPeerConnection && parameters.grant.allowsSubscribe
    }

    /// DataPackets relayed to this participant, one queue per lane.
    nonisolated let dataPacketQueues: [DataLane: SubscriberQueue]
    /// Channels this participant is served on, by label; read by the sender tasks without
    /// hopping onto the actor.
    private nonisolated let outgoing = ChannelTable()
    private nonisolated let ended = Mutex(false)
    /// Packets this participant published on `_data_track`, and how many bytes.
    nonisolated let publishedPackets = PublishedCounter()
    /// What became of the DataPackets this participant sent (counted by the room).
    nonisolated let dataPacketTally = DataPacketTally()

    private let room: ServerRoom
    private let factory: PeerConnectionFactory
    /// The server's log ("serve"): joins, leaves with their counts, refusals.
    private let logger: Logger
    private var publisher: PeerConnection?
    /// The offer and our answer that set up `publisher`, to answer a later offer on the same
    /// connection (`PublisherRenegotiation`).
    private var publisherDescriptions: (offer: SessionDescription, answer: SessionDescription)?
    private var subscriber: PeerConnection?
    private var nextOfferID: UInt32 = 1
    private var tasks: [Task<Void, Never>] = []
    private var closed = false
    /// After a signal close without leave: how long this participant stays (SignalLossWindow).
    private var window: SignalLossWindow
    private var removal: Task<Void, Never>?
    /// A peer connection of ours reached `connected` (LiveKit's `HasICEConnected`).
    private var transportConnected = false
    /// The peer connection(s) in use failed or closed since.
    private var transportLost = false
    /// Our peer connections whose ICE consent lapsed (disconnected) and has not been renewed.
    private var consentLapsed: Set<ObjectIdentifier> = []
    /// Finishes when the session has ended (left, replaced, removed or shut down).
    nonisolated let ending: AsyncStream<Never>
    private nonisolated let endingSink: AsyncStream<Never>.Continuation

    init(parameters: JoinParameters, room: ServerRoom, factory: PeerConnectionFactory,
         window: SignalLossWindow = SignalLossWindow(), outboxLimits: SignalOutbox.Limits = .init(),
         logger: Logger = Logger(label: "serve")) {
        self.sid = Identifiers.participant()
        self.identity = parameters.claims.identity
        self.parameters = parameters
        self.room = room
        self.factory = factory
        self.window = window
        self.logger = logger
        outbox = SignalOutbox(limits: outboxLimits)
        (ending, endingSink) = AsyncStream.makeStream(of: Never.self)
        dataPacketQueues = Dictionary(uniqueKeysWithValues: DataLane.allCases.map { ($0, $0.queue()) })
        dataTrackQueue = SubscriberQueue()
    }

    // MARK: - Called by the room (never blocks)

    nonisolated func send(_ response: Livekit_SignalResponse) {
        // Encoding a message we built cannot fail.
        guard let bytes: [UInt8] = try? response.serializedBytes() else { return }
        outbox.send(bytes)
    }

    /// An already encoded response (a broadcast is encoded once for every member), replacing an
    /// unsent one with the same `key`.
    nonisolated func send(encoded bytes: [UInt8], key: SignalOutbox.Key?) {
        outbox.send(bytes, key: key)
    }

    nonisolated func deliverDataPacket(_ bytes: [UInt8], lane: DataLane) {
        dataPacketQueues[lane]?.offer(bytes)
    }

    /// Ends the session from the server side: `leave` is the last signal message, then the
    /// WebSocket closes and the peer connections go.
    nonisolated func terminate(sending leave: Livekit_LeaveRequest?) {
        let first = ended.withLock { ended in
            defer { ended = true }
            return !ended
        }
        guard first else { return }
        var last: [UInt8]?
        if let leave {
            var response = Livekit_SignalResponse()
            response.message = .leave(leave)
            last = try? response.serializedBytes()
        }
        outbox.finish(last: last)
        for queue in dataPacketQueues.values { queue.close() }
        dataTrackQueue.close()
        endingSink.finish()
        Task { await self.shutDownTransports() }
    }

    // MARK: - Lifecycle

    /// After the join response: answer the publisher offer (`/rtc/v1`) or offer the subscriber
    /// connection (`/rtc` with subscriber_primary), and start the sender tasks.
    func start() async {
        startSenders()
        if let offer = parameters.publisherOffer {
            await answerPublisher(offer)
        }
        if subscriberPrimary {
            await offerSubscriber()
        }
    }

    /// The client sent `leave`: it is gone for good (CLIENT_INITIATED).
    func left() async {
        await room.leave(sid, session: self, reason: .clientInitiated)
        terminate(sending: nil)
    }

    /// The signal WebSocket closed or broke without a `leave`. As livekit-server, a participant
    /// whose peer connection got connected is kept, tracks, subscriptions and forwarding
    /// included, for `SignalLossWindow`; one that never connected goes at once. Nothing more is
    /// signalled to it: there is no connection to carry it, and a resume is refused.
    func signalClosed() async {
        guard !ended.withLock({ $0 }), !window.isKeeping else { return }
        switch window.signalClosed(transportConnected: transportConnected, transportLost: transportLost,
                                   now: .now) {
        case .removeNow:
            logger.info("\(identity) (\(sid)): signal closed before its peer connection connected: removed (SIGNAL_CLOSE)")
            await room.leave(sid, session: self, reason: .signalClose)
            terminate(sending: nil)
        case .keepUntil(let deadline):
            logger.info("\(identity) (\(sid)): signal closed without leave: kept \(Self.seconds(deadline - .now)) s for a re-join")
            outbox.finish()
            scheduleRemoval(at: deadline)
        }
    }

    private static func seconds(_ duration: Duration) -> String {
        String(format: "%.1f", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }

    /// True while the participant is kept after a signal close (for the resume log).
    var isKeptAfterSignalLoss: Bool { window.isKeeping && !closed }

    /// A peer connection of this participant has reached `connected`.
    var hasConnectedTransport: Bool { transportConnected }

    private func scheduleRemoval(at deadline: ContinuousClock.Instant) {
        removal?.cancel()
        removal = Task { [weak self] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            guard !Task.isCancelled else { return }
            await self?.windowEnded()
        }
    }

    private func windowEnded() async {
        guard !ended.withLock({ $0 }) else { return }
        logger.info("\(identity) (\(sid)): nobody re-joined after the signal loss: removed (SIGNAL_CLOSE)")
        await room.leave(sid, session: self, reason: .signalClose)
        terminate(sending: nil)
    }

    /// Follows a peer connection of ours: `connected` counts for the window decision; failed or
    /// closed (the client tore it down, or consent expired, RFC 7675) shortens a running window.
    private func watchState(of connection: PeerConnection) {
        tasks.append(Task { [weak self] in
            for await state in connection.connectionStates {
                await self?.connection(connection, changedTo: state)
            }
        })
    }

    private func connection(_ connection: PeerConnection, changedTo state: PeerConnectionState) {
        guard !closed, connection === publisher || connection === subscriber else { return }
        // Each change is logged: where a live participant's traffic stops, and why, is what an
        // operator reads first (a peer that stops answering consent checks loses its
        // connection after 30 s, RFC 7675 §5.1, however much it still sends).
        let which = connection === publisher ? "publisher" : "subscriber"
        let lapsed = consentLapsed.contains(ObjectIdentifier(connection))
        switch state {
        case .connected:
            transportConnected = true
            transportLost = false
            if lapsed {
                consentLapsed.remove(ObjectIdentifier(connection))
                logger.info("\(identity) (\(sid)): \(which) peer connection connected again (consent renewed)")
            }
        case .failed, .closed:
            transportLost = true
            let why = state == .failed && lapsed ? ": no ICE consent response, consent expired (RFC 7675)" : ""
            logger.info("\(identity) (\(sid)): \(which) peer connection \(state)\(why)")
            if let sooner = window.transportLost(now: .now) {
                logger.info("\(identity) (\(sid)): peer connection \(state) while kept: removal in \(Self.seconds(sooner - .now)) s")
                scheduleRemoval(at: sooner)
            }
        case .disconnected:
            consentLapsed.insert(ObjectIdentifier(connection))
            logger.info("\(identity) (\(sid)): \(which) peer connection disconnected: no ICE consent response (RFC 7675)")
        case .new, .connecting:
            break
        }
    }

    private func shutDownTransports() async {
        guard !closed else { return }
        closed = true
        let published = publishedPackets.value
        let queue = dataTrackQueue.counters
        let lanes = DataLane.allCases.map { lane in
            let counters = dataPacketQueues[lane]?.counters ?? SubscriberQueue.Counters()
            return "\(lane.label) \(counters.sent) sent, \(counters.dropped) dropped"
        }.joined(separator: "; ")
        var transport: [String] = []
        for (name, connection) in [("publisher", publisher), ("subscriber", subscriber)] {
            guard let connection else { continue }
            let statistics = await connection.statistics()
            transport.append("\(name) \(statistics.droppedMessages) discarded/dropped messages, "
                             + "\(statistics.refusedChannels) refused channels, \(statistics.refusedCandidates) refused candidates, "
                             + "\(statistics.iceInboundDropped + statistics.dtlsInboundDropped) datagrams dropped "
                             + "(peak queued: \(statistics.iceInboundPeakBytes / 1024) KiB ICE, "
                             + "\(statistics.dtlsInboundPeakBytes / 1024) KiB DTLS, \(statistics.messagesPeakBytes / 1024) KiB messages), "
                             // Sent by the queue above but still inside SCTP: never sent, or
                             // sent and not known to have arrived.
                             + "\(statistics.outboundQueuedMessages) messages unsent in SCTP, "
                             + "\(statistics.outboundChunksInFlight) chunks unacknowledged, "
                             + "\(statistics.reorderedPackets) packets reordered (\(statistics.reorderTimeouts) gaps waited out)")
        }
        let summary: String = "\(identity) left: published \(published.count) packets (\(published.bytes) B); "
            + "as subscriber \(queue.enqueued) queued, \(queue.sent) sent, \(queue.dropped) dropped, "
            + "\(queue.unsent) unsent" + (dataPacketTally.summary.map { "; data packets \($0)" } ?? "")
            + "; relayed to it: \(lanes)"
            + (transport.isEmpty ? "" : "; " + transport.joined(separator: "; "))
        logger.info("\(summary)")
        for task in tasks { task.cancel() }
        tasks = []
        removal?.cancel()
        removal = nil
        outgoing.channels.withLock { $0 = [:] }
        if let publisher { await publisher.close() }
        if let subscriber { await subscriber.close() }
        publisher = nil
        subscriber = nil
    }

    // MARK: - Signal requests

    func handle(_ request: Livekit_SignalRequest) async {
        guard !closed else { return }
        switch request.message {
        case .offer(let offer):
            await answerPublisher(offer)
        case .answer(let answer):
            guard let subscriber else { return }
            do {
                try await subscriber.setRemoteDescription(answer.sdp)
            } catch {
                logger.warning("\(identity): subscriber answer refused: \(error)")
            }
        case .trickle(let trickle):
            await addCandidate(trickle)
        case .pingReq(let ping):
            var pong = Livekit_Pong()
            pong.lastPingTimestamp = ping.timestamp
            pong.timestamp = Int64(Date().timeIntervalSince1970 * 1000)
            var response = Livekit_SignalResponse()
            response.message = .pongResp(pong)
            send(response)
        case .ping(let timestamp):
            var response = Livekit_SignalResponse()
            response.message = .pong(timestamp)
            send(response)
        case .leave:
            await left()
        case .publishDataTrackRequest(let publish):
            await room.publishDataTrack(publish, from: sid)
        case .unpublishDataTrackRequest(let unpublish):
            await room.unpublishDataTrack(unpublish, from: sid)
        case .updateDataSubscription(let update):
            await room.updateDataSubscription(update, from: sid)
        case .updateMetadata(let update):
            await room.updateMetadata(update, from: sid)
        default:
            break  // media and sync requests have no meaning for a data-only server
        }
    }

    private func addCandidate(_ trickle: Livekit_TrickleRequest) async {
        let candidate: ICECandidateInit
        do {
            candidate = try ICECandidateInit(json: trickle.candidateInit)
        } catch {
            logger.warning("\(identity): bad trickle candidate: \(error)")
            return
        }
        // Single PC mode has only the publisher connection, whatever the target says.
        let target = (trickle.target == .subscriber && parameters.path == .dualPeerConnection) ? subscriber : publisher
        guard let target else { return }
        do {
            try await target.addRemoteCandidate(candidate)
        } catch {
            // TCP candidates and the like are not for us; ICE-lite needs none anyway.
        }
    }

    // MARK: - Peer connections

    private func answerPublisher(_ offer: Livekit_SessionDescription) async {
        if publisher != nil, let (previousOffer, previousAnswer) = publisherDescriptions,
           let newOffer = try? SessionDescription(parsing: offer.sdp),
           let reanswer = PublisherRenegotiation.reanswer(newOffer, previousOffer: previousOffer,
                                                          previousAnswer: previousAnswer) {
            publisherDescriptions = (newOffer, reanswer)
            var answer = Livekit_SessionDescription()
            answer.type = "answer"
            answer.sdp = reanswer.sdpText
            answer.id = offer.id
            var response = Livekit_SignalResponse()
            response.message = .answer(answer)
            send(response)
            return
        }
        if let old = publisher {
            // An ICE restart or a different data section: our stack cannot apply it to the
            // running connection, so a new one replaces it.
            logger.info("\(identity): publisher offer \(offer.id) is not a renegotiation of the running connection: replacing it")
            publisher = nil
            publisherDescriptions = nil
            await old.close()
        }
        let connection: PeerConnection
        let answerSDP: String
        do {
            (connection, answerSDP) = try await factory.answer(offer.sdp)
        } catch {
            logger.warning("\(identity): publisher offer refused: \(error)")
            return
        }
        guard !closed else {
            await connection.close()
            return
        }
        publisher = connection
        if let parsedOffer = try? SessionDescription(parsing: offer.sdp),
           let parsedAnswer = try? SessionDescription(parsing: answerSDP) {
            publisherDescriptions = (parsedOffer, parsedAnswer)
        }
        watchState(of: connection)
        watchIncomingChannels(of: connection, repliesHere: parameters.path == .singlePeerConnection)
        var answer = Livekit_SessionDescription()
        answer.type = "answer"
        answer.sdp = answerSDP
        answer.id = offer.id
        var response = Livekit_SignalResponse()
        response.message = .answer(answer)
        send(response)
    }

    private func offerSubscriber() async {
        let connection: PeerConnection
        let offerSDP: String
        let channels: [String: DataChannel]
        do {
            (connection, offerSDP, channels) = try await factory.offer()
        } catch {
            logger.warning("\(identity): subscriber offer failed: \(error)")
            return
        }
        guard !closed else {
            await connection.close()
            return
        }
        subscriber = connection
        watchState(of: connection)
        discardIncomingChannels(of: connection)
        outgoing.channels.withLock { $0 = channels }
        var offer = Livekit_SessionDescription()
        offer.type = "offer"
        offer.sdp = offerSDP
        offer.id = nextOfferID
        nextOfferID += 1
        var response = Livekit_SignalResponse()
        response.message = .offer(offer)
        send(response)
    }

    /// Channels the client opens on its publisher connection: `_data_track` feeds the room's
    /// forwarding, `_reliable`/`_lossy` carry DataPackets. In single PC mode they are also the
    /// channels this participant is served on.
    private func watchIncomingChannels(of connection: PeerConnection, repliesHere: Bool) {
        let room = self.room
        let sid = self.sid
        let outgoing = self.outgoing
        let logger = self.logger
        let identity = self.identity
        let counters = self.publishedPackets
        tasks.append(Task {
            await withTaskGroup(of: Void.self) { group in
                for await channel in connection.incomingDataChannels {
                    if repliesHere { outgoing.channels.withLock { $0[channel.label] = channel } }
                    if channel.label == DataLane.dataTrackLabel {
                        group.addTask {
                            for await message in channel.messages {
                                let bytes = message.bytes
                                counters.add(bytes.count)
                                await room.forwardDataTrackPacket(bytes, from: sid)
                            }
                        }
                    } else if let lane = DataLane(label: channel.label) {
                        group.addTask {
                            for await message in channel.messages {
                                await room.forwardDataPacket(message.bytes, lane: lane, from: sid)
                            }
                        }
                    } else {
                        // Nobody reads it: drop what arrives rather than let it pile up
                        // (livekit-server reads such channels and hands them to nobody too).
                        channel.discardIncomingMessages()
                        logger.info("\(identity): ignoring data channel \(channel.label)")
                    }
                }
            }
        })
    }

    /// Channels a client opens on its subscriber connection: LiveKit clients open none there,
    /// and the server reads nothing there, so whatever arrives is discarded.
    private func discardIncomingChannels(of connection: PeerConnection) {
        let logger = self.logger
        let identity = self.identity
        tasks.append(Task {
            for await channel in connection.incomingDataChannels {
                channel.discardIncomingMessages()
                logger.info("\(identity): ignoring data channel \(channel.label) on its subscriber connection")
            }
        })
    }

    /// Three senders, one per queue: data-track packets, and DataPackets per lane.
    private func startSenders() {
        let outgoing = self.outgoing
        tasks.append(Task { await Self.drain(dataTrackQueue, into: DataLane.dataTrackLabel, of: outgoing) })
        for (lane, queue) in dataPacketQueues {
            tasks.append(Task { await Self.drain(queue, into: lane.label, of: outgoing) })
        }
    }

    /// Sends what `queue` holds on the channel labelled `label`. A packet with no channel to go
    /// to, or whose send fails, is counted as unsent.
    private static func drain(_ queue: SubscriberQueue, into label: String, of outgoing: ChannelTable) async {
        // On one peer connection (/rtc/v1) the client opens the channels it is served on, and
        // LiveKit's SDK may open `_data_track` only as its first subscription goes out: the
        // first packets (a replayer's latched frame among them) can come before the channel.
        // They wait for it, once, up to `channelWait`; a client that never opens it costs
        // that wait once, then its packets are counted unsent at once.
        var channelAwaited = false
        while let packet = await queue.next() {
            var channel = outgoing.channels.withLock({ $0[label] })
            if channel == nil, !channelAwaited {
                channelAwaited = true
                let deadline = ContinuousClock.now + ChannelTable.channelWait
                while channel == nil, ContinuousClock.now < deadline, !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(5))
                    channel = outgoing.channels.withLock({ $0[label] })
                }
            }
            guard let channel else {
                queue.markUnsent()
                continue
            }
            // Our own subscriber-side channel may still be opening (DCEP, RFC 8832): wait
            // for it rather than lose what the subscriber already asked for.
            if channel.state == .connecting { try? await channel.opened() }
            do {
                try await channel.send(packet)
                queue.markSent()
            } catch {
                queue.markUnsent()
                continue
            }
            // Let SCTP drain before sending more: a backlog then shows in our queue, which
            // drops by its rule, instead of growing inside the transport.
            if channel.bufferedAmount > SubscriberQueue.transportHighWater {
                channel.bufferedAmountLowThreshold = SubscriberQueue.transportHighWater / 4
                await channel.bufferedAmountLow()
            }
        }
    }

    /// What each layer of this participant's peer connections dropped or holds (tests, logs).
    func transportStatistics() async -> (publisher: PeerConnection.Statistics?, subscriber: PeerConnection.Statistics?) {
        (await publisher?.statistics(), await subscriber?.statistics())
    }
}

extension SubscriberQueue {
    /// Bytes a subscriber's data channel may hold unsent before its sender waits.
    static let transportHighWater = 1 << 20
}

extension DataLane {
    /// A subscriber's DataPacket queue for this lane. `_reliable`: a new packet is dropped
    /// when 4 MiB wait or the oldest has waited 5 s (a reader that slow loses data, as with
    /// livekit-server's slow-reader rule); `_lossy`: when 1 MiB waits or the oldest has waited
    /// 100 ms (real time wins). Drops are counted per subscriber and lane.
    func queue() -> SubscriberQueue {
        switch self {
        case .reliable: SubscriberQueue(maximumDelay: .seconds(5), maximumBytes: 4 << 20)
        case .lossy: SubscriberQueue(maximumDelay: .milliseconds(100), maximumBytes: 1 << 20)
        }
    }
}

/// The channels a participant is served on, by label, shared by the session actor (which sets
/// them) and its sender tasks (which read them for every packet).
final class ChannelTable: Sendable {
    let channels = Mutex<[String: DataChannel]>([:])
    /// How long a sender waits, once, for a channel the client has not opened yet.
    static let channelWait: Duration = .seconds(2)
}

/// Packets and bytes a participant published, counted by its channel reader.
final class PublishedCounter: Sendable {
    private let state = Mutex((count: 0, bytes: 0))
    func add(_ bytes: Int) { state.withLock { $0.count += 1; $0.bytes += bytes } }
    var value: (count: Int, bytes: Int) { state.withLock { $0 } }
}
