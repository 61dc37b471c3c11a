/// The data-channel stack above ICE for one peer connection: DTLS (RFC 6347) carrying one SCTP
/// association (RFC 8261) carrying DCEP and data channels (RFC 8831, RFC 8832).
///
/// This actor owns all of it: the `DTLSConnection`, the `SCTPAssociation` and the channel table.
/// Datagrams come in through `receive(_:)` and leave through the `send` closure given at init
/// (ICE's selected pair, or another transport in memory for tests); SCTP's packets of one flush
/// leave together through `sendBatch` (one `sendmmsg` for ICE). usrsctp's threads only wake the
/// actor through the association's callback sink.
///
/// What the peer can make it hold is bounded by `DataChannelLimits`: received messages wait for
/// their readers within `inboundBytes` (a reliable channel's overflow pauses reading, so SCTP's
/// receive window holds the peer back; a partially reliable channel's is dropped), at most
/// `channels` channels are open, and `outboundBytes` bound what waits to be sent.
actor DataChannelTransport {
    enum State: Sendable, Equatable { case new, connecting, connected, closed, failed(WebRTCDataError) }
    typealias Limits = DataChannelLimits

    let role: DTLSRole
    private(set) var state: State = .new
    /// The peer's `a=max-message-size` (RFC 8841 §6); 65536 when it gave none.
    var remoteMaxMessageSize: Int
    /// Closes when the transport does; each element is a channel the peer opened by DCEP.
    nonisolated let incomingChannels: AsyncStream<DataChannel>
    /// Every state change, in order.
    nonisolated let stateChanges: AsyncStream<State>
    /// DCEP messages that could not be decoded (counted, then ignored).
    private(set) var rejectedControlMessages = 0
    var rejectedDTLSDatagrams: Int { dtls.rejectedDatagrams }
    var rejectedSCTPMessages: Int { sctp.rejectedMessages }
    var rejectedSCTPPackets: Int { sctp.rejectedPackets }
    var negotiatedStreams: (inbound: Int, outbound: Int)? { sctp.negotiatedStreams }
    let limits: DataChannelLimits
    /// DATA_CHANNEL_OPENs refused because `limits.channels` channels were open.
    private(set) var refusedChannels = 0
    /// Bytes of received messages waiting for their readers, over all channels.
    var inboundBufferedBytes: Int { budget.bytes }
    var inboundPeakBytes: Int { budget.peakBytes }
    /// Bytes queued for sending that usrsctp has not taken yet, over all channels.
    var outboundBufferedBytes: Int { sctp.queuedBytesTotal }
    /// Messages queued for sending that usrsctp has not taken yet, and DATA chunks it sent
    /// that the peer has not acknowledged.
    var outboundQueuedMessages: Int { sctp.queuedMessages }
    var outboundChunksInFlight: Int { sctp.chunksInFlight }
    /// Times reading paused because a reliable channel's reader fell behind.
    private(set) var receivePauses = 0
    /// Messages dropped on arrival (discarded, or no room), by every channel so far.
    var droppedMessages: Int { droppedByGoneChannels + channels.values.reduce(0) { $0 + $1.droppedMessages } }
    private var droppedByGoneChannels = 0

    private let dtls: DTLSConnection
    private let sctp: SCTPAssociation
    private let sendDatagram: @Sendable ([UInt8]) -> Void
    private let sendDatagrams: @Sendable ([[UInt8]]) -> Void
    private let incomingSink: AsyncStream<DataChannel>.Continuation
    private let stateSink: AsyncStream<State>.Continuation
    private var channels: [UInt16: DataChannel] = [:]
    /// Channels created before the association was up, opened once it is.
    private var waitingChannels: [DataChannel] = []
    /// In-band channels we opened whose DATA_CHANNEL_ACK has not come yet.
    private var awaitingAck: Set<UInt16> = []
    private var timer: Task<Void, Never>?
    private var wakeups: Task<Void, Never>?
    /// Received SCTP packets put back in TSN order before usrsctp sees them (`SCTPArrivalOrder`).
    private var arrivalOrder = SCTPArrivalOrder()
    private var arrivalTimer: Task<Void, Never>?
    private var arrivalDeadline: ContinuousClock.Instant?
    /// Packets that waited for an earlier one, and gaps given up on after `SCTPArrivalOrder.maxHold`.
    var reorderedSCTPPackets: Int { arrivalOrder.packetsHeld }
    var reorderTimeouts: Int { arrivalOrder.releasedByTimeout }
    private nonisolated let budget: InboundBudget
    /// While SCTP reading is paused: the message that did not fit and every event after it,
    /// in order (at most one read batch, `SCTPAssociation.readBatchBytes`).
    private var heldEvents: [SCTPEvent] = []
    /// While a batch of datagrams is being read (`receive(batch:)`): SCTP packets wait in
    /// `heldPackets`, in order, and go out together when it ends.
    private var holdingOutgoing = false
    private var heldPackets: [[UInt8]] = []

    init(role: DTLSRole, certificate: DTLSCertificate, remoteFingerprint: SDPFingerprint,
         remoteMaxMessageSize: Int = 65536, limits: DataChannelLimits = DataChannelLimits(), mtu: Int = 1200,
         sendBatch: (@Sendable ([[UInt8]]) -> Void)? = nil,
         send: @escaping @Sendable ([UInt8]) -> Void) throws(WebRTCDataError) {
        self.role = role
        self.remoteMaxMessageSize = remoteMaxMessageSize
        self.limits = limits
        budget = InboundBudget(limit: limits.inboundBytes)
        dtls = try DTLSConnection(role: role, certificate: certificate, remoteFingerprint: remoteFingerprint, mtu: mtu)
        sctp = try SCTPAssociation(mtu: mtu, maxQueuedBytes: limits.outboundBytes)
        sendDatagram = send
        // Without a batch path, datagrams that leave together still leave one by one, in order.
        sendDatagrams = sendBatch ?? { datagrams in for datagram in datagrams { send(datagram) } }
        (incomingChannels, incomingSink) = AsyncStream.makeStream(of: DataChannel.self)
        (stateChanges, stateSink) = AsyncStream.makeStream(of: State.self)
    }

    /// Starts the DTLS handshake (the client speaks first; the server waits for it).
    func start() {
        guard state == .new else { return }
        setState(.connecting)
        budget.setOnResume { [weak self] in
            Task { await self?.resumeReceiving() }
        }
        let wakeupStream = sctp.callbacks.wakeups
        wakeups = Task { [weak self] in
            for await _ in wakeupStream {
                guard let self else { return }
                await self.sctpWokeUp()
            }
        }
        perform(dtls.start())
    }

    /// One datagram from the peer that ICE demultiplexed as DTLS (RFC 7983: first byte 20…63).
    func receive(_ datagram: [UInt8]) {
        if state == .new { start() }
        perform(dtls.feed(datagram))
    }

    /// Datagrams that arrived together: SCTP's answers to all of them (usrsctp acknowledges
    /// every DATA packet at once, `SCTPRuntime`) go out when the last one has been read, with
    /// each SACK that a later one supersedes left out (`SCTPSackCoalescing`), so a burst costs
    /// about one SACK instead of one per packet.
    func receive(batch: [[UInt8]]) {
        holdingOutgoing = true
        for datagram in batch { receive(datagram) }
        holdingOutgoing = false
        flushSCTP()
    }

    // MARK: - Channels

    /// Creates a channel: in-band channels send DATA_CHANNEL_OPEN once SCTP is up.
    func createChannel(label: String, protocol: String = "", ordered: Bool = true,
                       reliability: DataChannelReliability = .reliable,
                       negotiatedID: UInt16? = nil) throws(WebRTCDataError) -> DataChannel {
        let channel = DataChannel(label: label, protocol: `protocol`, ordered: ordered,
                                  reliability: reliability, negotiatedID: negotiatedID)
        try adopt(channel)
        return channel
    }

    /// Takes over a channel made before this transport existed (a peer connection's channels
    /// created before negotiation).
    func adopt(_ channel: DataChannel) throws(WebRTCDataError) {
        if let id = channel.id, channels[id] != nil {
            throw WebRTCDataError(.dataChannel, .streamInUse, "negotiated id", expected: "an unused stream id", found: "\(id) in use")
        }
        channel.core.withLock { $0.transport = self }
        channel.attach(budget)
        switch state {
        case .closed, .failed:
            channel.markClosed()
        case .connected where sctp.state == .connected:
            open(channel)
            flushSCTP()
        default:
            if let id = channel.id { channels[id] = channel }
            waitingChannels.append(channel)
        }
    }

    func send(_ payload: [UInt8], payloadProtocol: SCTPPayloadProtocol, on channel: DataChannel) throws(WebRTCDataError) {
        guard let id = channel.id, channels[id] === channel, channel.state == .open else {
            throw WebRTCDataError(.dataChannel, .notOpen, "send on \(channel.label)", expected: "an open channel", found: "\(channel.state)")
        }
        guard payload.count <= remoteMaxMessageSize else {
            throw WebRTCDataError(.dataChannel, .tooLong, "message on \(channel.label)",
                                   expected: "at most \(remoteMaxMessageSize) bytes (peer's max-message-size)",
                                   found: "\(payload.count) bytes")
        }
        try sctp.send(SCTPMessage(stream: id, payloadProtocol: payloadProtocol, payload: payload,
                                  ordered: channel.ordered, reliability: channel.reliability))
        channel.updateBufferedAmount(sctp.bufferedAmount(stream: id))
        flushSCTP()
    }

    func close(_ channel: DataChannel) {
        guard let id = channel.id, channels[id] === channel else {
            waitingChannels.removeAll { $0 === channel }
            channel.markClosed()
            return
        }
        guard channel.state == .open || channel.state == .connecting else { return }
        channel.markClosing()
        // RFC 8831 §6.7: reset our outgoing stream; the peer answers by resetting its own.
        channel.core.withLock { $0.outgoingReset = true }
        sctp.resetStream(id)
        flushSCTP()
    }

    /// Closes every channel, aborts SCTP and sends DTLS close_notify.
    func close() {
        guard state != .closed else { return }
        droppedByGoneChannels = droppedMessages
        for channel in channels.values { channel.markClosed() }
        for channel in waitingChannels { channel.markClosed() }
        channels = [:]
        waitingChannels = []
        sctp.close()
        flushSCTP()
        perform(dtls.close())
        finish(.closed)
    }

    // MARK: - Internals

    private func setState(_ new: State) {
        guard new != state else { return }
        state = new
        stateSink.yield(new)
    }

    private func finish(_ final: State) {
        heldEvents = []
        timer?.cancel()
        arrivalTimer?.cancel()
        wakeups?.cancel()
        sctp.close()
        droppedByGoneChannels = droppedMessages
        for channel in channels.values { channel.markClosed() }
        for channel in waitingChannels { channel.markClosed() }
        channels = [:]
        waitingChannels = []
        setState(final)
        incomingSink.finish()
        stateSink.finish()
    }

    private func perform(_ actions: [DTLSAction]) {
        for action in actions {
            switch action {
            case .send(let datagram):
                sendDatagram(datagram)
            case .deliver(let packet):
                for ready in arrivalOrder.push(packet, now: .now) { sctp.receive(ready) }
                armArrivalTimer()
                flushSCTP()
            case .handshakeComplete:
                do {
                    try sctp.connect()
                } catch {
                    finish(.failed(error))
                    return
                }
                flushSCTP()
            case .closed:
                finish(.closed)
            case .failed(let error):
                finish(.failed(error))
            }
        }
        armTimer()
    }

    private func armTimer() {
        timer?.cancel()
        timer = nil
        guard let wait = dtls.nextTimeout else { return }
        timer = Task { [weak self] in
            try? await Task.sleep(for: wait)
            guard !Task.isCancelled else { return }
            await self?.timerFired()
        }
    }

    /// Wakes when the oldest packet held for reordering has waited long enough.
    private func armArrivalTimer() {
        guard let deadline = arrivalOrder.nextDeadline else {
            arrivalTimer?.cancel()
            arrivalTimer = nil
            arrivalDeadline = nil
            return
        }
        guard deadline != arrivalDeadline else { return }
        arrivalTimer?.cancel()
        arrivalDeadline = deadline
        arrivalTimer = Task { [weak self] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            guard !Task.isCancelled else { return }
            await self?.arrivalTimerFired()
        }
    }

    private func arrivalTimerFired() {
        arrivalDeadline = nil
        guard state != .closed else { return }
        for ready in arrivalOrder.release(now: .now) { sctp.receive(ready) }
        armArrivalTimer()
        flushSCTP()
    }

    private func timerFired() {
        perform(dtls.handleTimeout())
    }

    private func sctpWokeUp() {
        sctp.service()
        flushSCTP()
    }

    /// Readers caught up (the budget fell under half its limit): handle what was held, then
    /// read again.
    func resumeReceiving() {
        guard sctp.receivePaused, state != .closed else { return }
        sctp.receivePaused = false
        let held = heldEvents
        heldEvents = []
        for event in held { process(event) }
        flushSCTP()
    }

    /// Carries SCTP's outgoing packets through DTLS and handles its events, until both are
    /// drained (handling an event can produce packets, e.g. a DCEP ACK), reading SCTP batch by
    /// batch while it is not paused.
    private func flushSCTP() {
        while true {
            var packets = sctp.outgoingPackets()
            var events = sctp.events()
            // Buffered amounts first, and never held: a message usrsctp took must leave the
            // sender's `bufferedAmount` before its packets can reach the peer, or a peer that
            // already read it could see our count still holding it.
            events.removeAll { event in
                guard case .bufferedAmountChanged(let amounts) = event else { return false }
                for (stream, amount) in amounts { channels[stream]?.updateBufferedAmount(amount) }
                return true
            }
            if holdingOutgoing {
                heldPackets += packets
                packets = []
            } else if !heldPackets.isEmpty {
                packets = SCTPSackCoalescing.coalesce(heldPackets + packets)
                heldPackets = []
            }
            // Every packet of this round leaves in one batch, in order, before any event is
            // handled (events only queue more for the next round).
            var outgoing: [[UInt8]] = []
            for packet in packets where dtls.state == .connected {
                do {
                    for case .send(let datagram) in try dtls.write(packet) { outgoing.append(datagram) }
                } catch {
                    send(outgoing)
                    finish(.failed(error))
                    return
                }
            }
            send(outgoing)
            for event in events { process(event) }
            if packets.isEmpty && events.isEmpty {
                guard sctp.mayHaveMoreToRead, !sctp.receivePaused, state != .closed else { return }
                sctp.service()
            }
        }
    }

    private func send(_ datagrams: [[UInt8]]) {
        switch datagrams.count {
        case 0: return
        case 1: sendDatagram(datagrams[0])
        default: sendDatagrams(datagrams)
        }
    }

    /// Handles an event, or holds it while reading is paused (events keep their order).
    private func process(_ event: SCTPEvent) {
        if sctp.receivePaused {
            heldEvents.append(event)
        } else {
            handle(event)
        }
    }

    private func handle(_ event: SCTPEvent) {
        switch event {
        case .connected:
            setState(.connected)
            let waiting = waitingChannels
            waitingChannels = []
            for channel in waiting {
                if let id = channel.id, channels[id] === channel { channels[id] = nil }
                open(channel)
            }
        case .disconnected:
            if state != .closed { finish(.closed) }
        case .message(let message):
            handle(message)
        case .incomingStreamsReset(let streams):
            for stream in streams {
                guard let channel = channels[stream] else { continue }
                // The peer closed (RFC 8831 §6.7): answer with our own reset if we have not.
                let alreadyReset = channel.core.withLock { core in
                    defer { core.outgoingReset = true }
                    return core.outgoingReset
                }
                if !alreadyReset { sctp.resetStream(stream) }
                droppedByGoneChannels += channel.droppedMessages
                channels[stream] = nil
                awaitingAck.remove(stream)
                channel.markClosed()
            }
        case .outgoingStreamsReset(let streams):
            // Our side is reset; the channel is closed once the peer's reset arrives (above).
            for stream in streams { channels[stream]?.markClosing() }
        case .bufferedAmountChanged(let amounts):
            for (stream, amount) in amounts { channels[stream]?.updateBufferedAmount(amount) }
        }
    }

    /// Opens a channel on an established association: a stream id by DTLS role (RFC 8832 §6:
    /// the client uses even ids, the server odd), then DATA_CHANNEL_OPEN unless pre-negotiated.
    private func open(_ channel: DataChannel) {
        let id: UInt16
        if let existing = channel.id {
            guard channels[existing] == nil else {
                channel.markClosed()
                return
            }
            id = existing
        } else {
            guard let free = freeStreamID() else {
                channel.markClosed()
                return
            }
            id = free
            channel.core.withLock { $0.id = free }
        }
        channels[id] = channel
        if channel.negotiated {
            channel.markOpen()
            return
        }
        let open = DCEPOpen(channelType: DCEPChannelType(ordered: channel.ordered, reliability: channel.reliability),
                            reliabilityParameter: channel.reliability.parameter,
                            label: channel.label, protocol: channel.protocol)
        do {
            // RFC 8832 §6: DCEP messages go ordered and reliable on the channel's stream.
            try sctp.send(SCTPMessage(stream: id, payloadProtocol: .dcep, payload: try open.encoded()), control: true)
            awaitingAck.insert(id)
        } catch {
            channels[id] = nil
            channel.markClosed()
        }
    }

    private func freeStreamID() -> UInt16? {
        var candidate: UInt16 = role == .client ? 0 : 1
        while true {
            if channels[candidate] == nil { return candidate }
            guard candidate + 2 < SCTPAssociation.streams else { return nil }
            candidate += 2
        }
    }

    private func handle(_ message: SCTPMessage) {
        switch message.payloadProtocol {
        case .dcep:
            handleControl(message)
        case .string, .emptyString, .binary, .emptyBinary, .stringPartial, .binaryPartial:
            guard let channel = channels[message.stream], channel.state == .open || channel.state == .closing else {
                return
            }
            let received: DataChannelMessage
            switch message.payloadProtocol {
            case .string, .stringPartial:
                received = .text(String(decoding: message.payload, as: UTF8.self))
            case .emptyString:
                received = .text("")
            case .emptyBinary:
                received = .binary([])
            default:
                received = .binary(message.payload)
            }
            let offer = channel.deliver(received, size: message.payload.count, mayHold: channel.reliability == .reliable)
            if offer == .full {
                // RFC 4960 §6.2: stop reading; usrsctp's buffer fills and its advertised window
                // closes, so the peer waits for our readers instead of our memory growing.
                heldEvents.append(.message(message))
                sctp.receivePaused = true
                receivePauses += 1
                if !budget.pause() {
                    // Readers took enough meanwhile: nothing will wake us, so go on at once.
                    Task { await self.resumeReceiving() }
                }
            }
        }
    }

    private func handleControl(_ message: SCTPMessage) {
        let control: DCEPMessage
        do {
            control = try DCEPMessage(bytes: message.payload)
        } catch {
            rejectedControlMessages += 1
            return
        }
        switch control {
        case .ack:
            guard awaitingAck.remove(message.stream) != nil, let channel = channels[message.stream] else {
                rejectedControlMessages += 1
                return
            }
            channel.markOpen()
        case .open(let open):
            guard channels[message.stream] == nil else {
                rejectedControlMessages += 1
                return
            }
            guard channels.count < limits.channels else {
                // No room: refuse the channel the way a channel is closed, by resetting its
                // stream (RFC 8831 §6.7); the peer's channel closes and nothing is kept here.
                refusedChannels += 1
                sctp.resetStream(message.stream)
                return
            }
            let channel = DataChannel(label: open.label, protocol: open.protocol, ordered: open.ordered,
                                      reliability: open.reliability)
            channel.core.withLock {
                $0.id = message.stream
                $0.transport = self
            }
            channel.attach(budget)
            channels[message.stream] = channel
            do {
                try sctp.send(SCTPMessage(stream: message.stream, payloadProtocol: .dcep, payload: DCEPAck().encoded()),
                              control: true)
            } catch {
                channels[message.stream] = nil
                channel.markClosed()
                return
            }
            channel.markOpen()
            incomingSink.yield(channel)
        }
    }
}
