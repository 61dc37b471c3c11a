import Synchronization

/// A WebRTC data channel (RFC 8831): messages over one SCTP stream pair, opened in-band by DCEP
/// (RFC 8832) or pre-negotiated with an agreed id.
///
/// The channel is a thin handle: its transport actor owns the protocol state and performs every
/// send; the handle keeps a snapshot (state, id, buffered amount) behind a mutex so it can be read
/// without awaiting, and the queue of received messages (bounded: `DataChannelMessages`).
public final class DataChannel: Sendable {
    public let label: String
    public let `protocol`: String
    public let ordered: Bool
    public let reliability: DataChannelReliability
    /// True when both sides created the channel with the same `id` and no DCEP runs.
    public let negotiated: Bool
    /// Received messages in delivery order; ends when the channel closes and they are read.
    /// Read them or discard them (`discardIncomingMessages()`): see `DataChannelMessages`.
    public var messages: DataChannelMessages { DataChannelMessages(channel: self) }

    let core: Mutex<Core>
    private let inbox = Mutex(DataChannelInbox())

    struct Core {
        var id: UInt16?
        var state: DataChannelState = .connecting
        var bufferedAmount = 0
        var bufferedAmountLowThreshold = 0
        var onBufferedAmountLow: (@Sendable () -> Void)?
        var transport: DataChannelTransport?
        var openWaiters: [CheckedContinuation<Void, any Error>] = []
        var lowWaiters: [CheckedContinuation<Void, Never>] = []
        /// Our outgoing stream has been reset (RFC 8831 §6.7).
        var outgoingReset = false
    }

    /// `maxRetransmits` of the W3C API: nil unless the channel is partially reliable by count.
    public var maxRetransmits: UInt32? {
        if case .maxRetransmits(let n) = reliability { n } else { nil }
    }

    /// `maxPacketLifeTime` in milliseconds: nil unless the channel is partially reliable by time.
    public var maxPacketLifeTime: UInt32? {
        if case .maxPacketLifeTime(let ms) = reliability { ms } else { nil }
    }

    init(label: String, protocol: String = "", ordered: Bool = true, reliability: DataChannelReliability = .reliable,
         negotiatedID: UInt16? = nil) {
        self.label = label
        self.protocol = `protocol`
        self.ordered = ordered
        self.reliability = reliability
        self.negotiated = negotiatedID != nil
        core = Mutex(Core(id: negotiatedID))
    }

    /// The SCTP stream id; nil until the DTLS role is known for an in-band channel.
    public var id: UInt16? { core.withLock { $0.id } }
    public var state: DataChannelState { core.withLock { $0.state } }
    /// Bytes handed to `send` that SCTP has not yet taken.
    public var bufferedAmount: Int { core.withLock { $0.bufferedAmount } }
    /// Received messages dropped on arrival: discarded (`discardIncomingMessages()`), or, on a
    /// partially reliable channel, not taken because the transport's unread bytes were at
    /// their limit.
    public var droppedMessages: Int { inbox.withLock { $0.dropped } }

    /// This channel's received messages will never be read: drop the queued ones and every one
    /// that arrives from now on (counted in `droppedMessages`), so they cost no memory and
    /// never hold back the connection's other channels. For channels an application does not
    /// serve (an unknown label, a direction it never reads).
    public func discardIncomingMessages() {
        let (release, budget, waiter) = inbox.withLock { inbox in
            let release = inbox.discard()
            defer { inbox.waiter = nil }
            return (release, inbox.budget, inbox.waiter)
        }
        budget?.release(release)
        waiter?.resume(returning: nil)
    }

    /// When `bufferedAmount` falls to or below this, `onBufferedAmountLow` runs and
    /// `bufferedAmountLow()` returns.
    public var bufferedAmountLowThreshold: Int {
        get { core.withLock { $0.bufferedAmountLowThreshold } }
        set { core.withLock { $0.bufferedAmountLowThreshold = newValue } }
    }

    /// Called (on the transport's executor; keep it short) when the buffered amount drops to
    /// the threshold.
    public func setOnBufferedAmountLow(_ handler: (@Sendable () -> Void)?) {
        core.withLock { $0.onBufferedAmountLow = handler }
    }

    /// Sends binary data (PPID 53, or 57 when empty).
    public func send(_ bytes: some Collection<UInt8>) async throws(WebRTCDataError) {
        try await transportForSending().send(Array(bytes), payloadProtocol: bytes.isEmpty ? .emptyBinary : .binary, on: self)
    }

    /// Sends text (PPID 51, or 56 when empty).
    public func send(_ text: String) async throws(WebRTCDataError) {
        let bytes = Array(text.utf8)
        try await transportForSending().send(bytes, payloadProtocol: bytes.isEmpty ? .emptyString : .string, on: self)
    }

    /// Waits until the channel is open; throws if it closes first.
    public func opened() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let resume: Result<Void, WebRTCDataError>? = core.withLock { core in
                switch core.state {
                case .open: return .success(())
                case .closing, .closed:
                    return .failure(WebRTCDataError(.dataChannel, .notOpen, "open \(label)", expected: "open", found: "\(core.state)"))
                case .connecting:
                    core.openWaiters.append(continuation)
                    return nil
                }
            }
            if let resume { continuation.resume(with: resume.mapError { $0 as any Error }) }
        }
    }

    /// Waits until `bufferedAmount` is at or below `bufferedAmountLowThreshold` (or the channel
    /// closed): the low-water mark senders use for back-pressure.
    public func bufferedAmountLow() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = core.withLock { core in
                if core.bufferedAmount <= core.bufferedAmountLowThreshold || core.state == .closed { return true }
                core.lowWaiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Closes the channel: queued messages go first, then the stream is reset (RFC 8831 §6.7).
    public func close() async {
        guard let transport = core.withLock({ $0.transport }) else {
            markClosed()
            return
        }
        await transport.close(self)
    }

    private func transportForSending() throws(WebRTCDataError) -> DataChannelTransport {
        let (state, transport) = core.withLock { ($0.state, $0.transport) }
        guard state == .open, let transport else {
            throw WebRTCDataError(.dataChannel, .notOpen, "send on \(label)", expected: "an open channel", found: "\(state)")
        }
        return transport
    }

    // MARK: - Called by the owning transport

    func markOpen() {
        let waiters = core.withLock { core -> [CheckedContinuation<Void, any Error>] in
            guard core.state == .connecting else { return [] }
            core.state = .open
            defer { core.openWaiters = [] }
            return core.openWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func markClosing() {
        core.withLock { if $0.state == .open || $0.state == .connecting { $0.state = .closing } }
    }

    func markClosed() {
        let (openWaiters, lowWaiters, wasClosed) = core.withLock { core in
            let wasClosed = core.state == .closed
            core.state = .closed
            core.transport = nil
            defer { core.openWaiters = []; core.lowWaiters = [] }
            return (core.openWaiters, core.lowWaiters, wasClosed)
        }
        guard !wasClosed else { return }
        let error = WebRTCDataError(.dataChannel, .notOpen, "open \(label)", expected: "open", found: "closed")
        for waiter in openWaiters { waiter.resume(throwing: error) }
        for waiter in lowWaiters { waiter.resume() }
        let (release, budget, reader) = inbox.withLock { inbox in
            let release = inbox.finish()
            // A waiting reader means nothing is queued: it gets the end now.
            defer { inbox.waiter = nil }
            return (release, inbox.budget, inbox.waiter)
        }
        budget?.release(release)
        reader?.resume(returning: nil)
    }

    func updateBufferedAmount(_ amount: Int) {
        let (waiters, handler) = core.withLock { core -> ([CheckedContinuation<Void, Never>], (@Sendable () -> Void)?) in
            let wasAbove = core.bufferedAmount > core.bufferedAmountLowThreshold
            core.bufferedAmount = amount
            guard amount <= core.bufferedAmountLowThreshold else { return ([], nil) }
            defer { core.lowWaiters = [] }
            return (core.lowWaiters, wasAbove ? core.onBufferedAmountLow : nil)
        }
        for waiter in waiters { waiter.resume() }
        handler?()
    }

    /// Received messages are charged to `budget` (the transport's, set when it adopts the channel).
    func attach(_ budget: InboundBudget) {
        inbox.withLock { $0.budget = budget }
    }

    /// Queues a received message of `size` bytes for the reader. `mayHold`: the channel is
    /// reliable, so a message that does not fit is `.full` (the transport keeps it and pauses)
    /// rather than dropped.
    func deliver(_ message: DataChannelMessage, size: Int, mayHold: Bool) -> DataChannelInbox.Offer {
        let (offer, reader) = inbox.withLock { $0.offer(message, size: size, mayHold: mayHold) }
        reader?.resume(returning: message)
        return offer
    }

    /// The next received message, waiting for one; nil once the channel closed and its queue is
    /// drained, once it discards, or when the calling task is cancelled.
    func nextMessage() async -> DataChannelMessage? {
        // Fast path, no continuation: a message is waiting.
        switch takeQueued() {
        case .message(let message): return message
        case .end: return nil
        case .empty: break
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<DataChannelMessage?, Never>) in
                let (ready, release, budget): (DataChannelMessage??, Int, InboundBudget?) = inbox.withLock { inbox in
                    if let (message, release) = inbox.take() { return (.some(message), release, inbox.budget) }
                    if inbox.finished || inbox.discarding || Task.isCancelled { return (.some(nil), 0, nil) }
                    inbox.waiter = continuation
                    return (.none, 0, nil)
                }
                budget?.release(release)
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let reader = inbox.withLock { inbox in
                defer { inbox.waiter = nil }
                return inbox.waiter
            }
            reader?.resume(returning: nil)
        }
    }

    private enum Queued {
        case message(DataChannelMessage)
        case end
        case empty
    }

    private func takeQueued() -> Queued {
        let (result, release, budget): (Queued, Int, InboundBudget?) = inbox.withLock { inbox in
            if let (message, release) = inbox.take() { return (.message(message), release, inbox.budget) }
            if inbox.finished || inbox.discarding { return (.end, 0, nil) }
            return (.empty, 0, nil)
        }
        budget?.release(release)
        return result
    }
}
