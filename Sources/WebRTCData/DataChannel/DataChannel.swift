import Synchronization

/// A WebRTC data channel (RFC 8831): messages over one SCTP stream pair, opened in-band by DCEP
/// (RFC 8832) or pre-negotiated with an agreed id.
///
/// The channel is a thin handle: its transport actor owns the protocol state and performs every
/// send; the handle keeps a snapshot (state, id, buffered amount) behind a mutex so it can be read
/// without awaiting, and the queue of received messages.
public final class DataChannel: Sendable {
    public let label: String
    public let `protocol`: String
    public let ordered: Bool
    public let reliability: DataChannelReliability
    /// True when both sides created the channel with the same `id` and no DCEP runs.
    public let negotiated: Bool
    /// Received messages in delivery order; finishes when the channel closes.
    public let messages: AsyncStream<DataChannelMessage>

    let messageSink: AsyncStream<DataChannelMessage>.Continuation
    let core: Mutex<Core>

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
        (messages, messageSink) = AsyncStream.makeStream(of: DataChannelMessage.self)
        core = Mutex(Core(id: negotiatedID))
    }

    /// The SCTP stream id; nil until the DTLS role is known for an in-band channel.
    public var id: UInt16? { core.withLock { $0.id } }
    public var state: DataChannelState { core.withLock { $0.state } }
    /// Bytes handed to `send` that SCTP has not yet taken.
    public var bufferedAmount: Int { core.withLock { $0.bufferedAmount } }

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
        messageSink.finish()
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

    func deliver(_ message: DataChannelMessage) {
        messageSink.yield(message)
    }
}
