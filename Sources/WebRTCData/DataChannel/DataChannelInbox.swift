import Synchronization

/// What one data-channel transport holds on behalf of its peer, whatever the peer sends.
public struct DataChannelLimits: Hashable, Sendable {
    /// Bytes of received messages waiting for their readers, over all channels of the
    /// transport (each message charged its size plus 64 bytes). When a message does not fit:
    /// on a reliable channel the transport stops reading SCTP until readers catch up, so the
    /// peer's sending is held back by SCTP's receive window (RFC 4960 §6.2); on a partially
    /// reliable channel the message is dropped and counted.
    public var inboundBytes: Int
    /// Channels open at once, ours and the peer's. A peer's DATA_CHANNEL_OPEN past it is
    /// refused by resetting its stream (RFC 8831 §6.7) and counted. (Stream ids stop at 1023
    /// anyway: `SCTPAssociation.streams`.)
    public var channels: Int
    /// Bytes queued for sending beyond what usrsctp's send buffer took, over all channels;
    /// `send` throws `sendBufferFull` past it.
    public var outboundBytes: Int

    public init(inboundBytes: Int = 4 << 20, channels: Int = 1024, outboundBytes: Int = 16 << 20) {
        self.inboundBytes = inboundBytes
        self.channels = channels
        self.outboundBytes = outboundBytes
    }

    /// What a queued message is charged beyond its payload (array header, bookkeeping), so a
    /// flood of empty messages is bounded too.
    static let messageOverhead = 64
}

/// The bytes of received messages waiting for readers over all channels of one transport, and
/// whether the transport stopped reading because of them. Channels charge it as they queue
/// and release it as their reader takes (or when they close); the release that brings it back
/// under half the limit wakes the paused transport.
final class InboundBudget: Sendable {
    private struct State {
        var bytes = 0
        var peak = 0
        var paused = false
        var onResume: (@Sendable () -> Void)?
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = limit
    }

    var bytes: Int { state.withLock { $0.bytes } }
    /// The most bytes ever waiting at once.
    var peakBytes: Int { state.withLock { $0.peak } }

    func setOnResume(_ handler: @escaping @Sendable () -> Void) {
        state.withLock { $0.onResume = handler }
    }

    /// Takes `cost` if it fits (anything fits an empty budget); false otherwise.
    func charge(_ cost: Int) -> Bool {
        state.withLock { state in
            guard state.bytes == 0 || state.bytes + cost <= limit else { return false }
            state.bytes += cost
            state.peak = max(state.peak, state.bytes)
            return true
        }
    }

    func release(_ cost: Int) {
        guard cost > 0 else { return }
        let resume = state.withLock { state -> (@Sendable () -> Void)? in
            state.bytes -= cost
            guard state.paused, state.bytes <= limit / 2 else { return nil }
            state.paused = false
            return state.onResume
        }
        resume?()
    }

    /// The transport stops reading; false when readers already took enough that it need not
    /// (then it resumes at once: no release may come to wake it).
    func pause() -> Bool {
        state.withLock { state in
            guard state.bytes > limit / 2 else { return false }
            state.paused = true
            return true
        }
    }
}

/// The received messages of one channel waiting for its reader: a FIFO charged to the
/// transport's `InboundBudget`, with one waiting reader at most (`DataChannel.messages`).
struct DataChannelInbox {
    enum Offer: Equatable {
        case queued
        /// Dropped: the channel discards, is closed, or (partially reliable) did not fit.
        case dropped
        /// Did not fit and may not be dropped (reliable): the transport holds it and pauses.
        case full
    }

    private var items: [(message: DataChannelMessage, cost: Int)] = []
    private var head = 0
    /// Bytes of `items` charged to `budget` (0 once released at close).
    private var charged = 0
    var budget: InboundBudget?
    var waiter: CheckedContinuation<DataChannelMessage?, Never>?
    private(set) var finished = false
    private(set) var discarding = false
    /// Messages dropped on arrival: discarded, or lost to a full budget on a lossy channel.
    private(set) var dropped = 0

    var isEmpty: Bool { head == items.count }

    /// Queues `message`, or hands it to the waiting reader (`.queued` with a continuation).
    mutating func offer(_ message: DataChannelMessage, size: Int, mayHold: Bool)
        -> (Offer, CheckedContinuation<DataChannelMessage?, Never>?) {
        if discarding || finished {
            dropped += 1
            return (.dropped, nil)
        }
        if let waiter {
            self.waiter = nil
            return (.queued, waiter)
        }
        let cost = size + DataChannelLimits.messageOverhead
        if let budget, !budget.charge(cost) {
            if mayHold { return (.full, nil) }
            dropped += 1
            return (.dropped, nil)
        }
        items.append((message, cost))
        charged += cost
        return (.queued, nil)
    }

    /// The oldest message and what to release from the budget, or nil when none waits.
    mutating func take() -> (DataChannelMessage, release: Int)? {
        guard head < items.count else { return nil }
        let item = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        let release = min(item.cost, charged)
        charged -= release
        return (item.message, release)
    }

    /// No more messages: what is queued stays readable, but stops counting against the
    /// budget (returned for release), so a closed channel nobody drains cannot stall the rest.
    mutating func finish() -> Int {
        finished = true
        defer { charged = 0 }
        return charged
    }

    /// Drops what is queued and every later message (returns what to release).
    mutating func discard() -> Int {
        discarding = true
        dropped += items.count - head
        items = []
        head = 0
        defer { charged = 0 }
        return charged
    }
}

/// The messages a channel received, in delivery order; ends when the channel closes and its
/// queue is drained (or when the reading task is cancelled). One reader at a time.
///
/// Read it, or call `DataChannel.discardIncomingMessages()`: unread messages of a reliable
/// channel hold back the peer's sending on every channel of the connection once the
/// transport's `DataChannelLimits.inboundBytes` are waiting (SCTP flow control); those of a
/// partially reliable channel are dropped then.
public struct DataChannelMessages: AsyncSequence, Sendable {
    public typealias Element = DataChannelMessage
    public typealias Failure = Never

    let channel: DataChannel

    public struct AsyncIterator: AsyncIteratorProtocol {
        public typealias Failure = Never
        let channel: DataChannel

        public mutating func next() async -> DataChannelMessage? {
            await channel.nextMessage()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(channel: channel)
    }
}
