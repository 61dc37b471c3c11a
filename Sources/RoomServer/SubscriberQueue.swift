import Synchronization

/// The packets waiting for one subscriber's `_data_track` channel: filled by the room actor as
/// it forwards, drained by the subscriber session's sender task.
///
/// It never grows without bound: a packet is dropped, and counted, when the oldest waiting
/// packet is already `maximumDelay` old (the subscriber is that far behind, about 100 ms worth
/// of the stream) or when `maximumBytes` are waiting, each packet charged its size plus
/// `entryOverhead` (so a flood of tiny packets is bounded too). Dropping the new packet keeps
/// what is queued whole; a lost packet costs its frame either way (packet v0: any gap drops the
/// frame). The same queue, with other bounds, holds a subscriber's DataPackets per lane. A plain
/// mutex guards the buffer because producer and consumer run on different executors and the
/// critical sections are a few instructions.
final class SubscriberQueue: Sendable {
    struct Counters: Equatable, Sendable {
        var enqueued = 0
        var dropped = 0
        var sent = 0
        /// Dequeued but not sent: no channel yet, or the channel refused it.
        var unsent = 0
    }

    private struct Entry {
        var bytes: [UInt8]
        var enqueuedAt: ContinuousClock.Instant
    }

    private struct State {
        var entries: [Entry] = []
        var head = 0
        var bytes = 0
        var closed = false
        var waiter: CheckedContinuation<[UInt8]?, Never>?
        var counters = Counters()
    }

    /// What a waiting packet costs beyond its bytes (array and entry bookkeeping).
    static let entryOverhead = 64

    let maximumDelay: Duration
    let maximumBytes: Int
    private let state = Mutex(State())

    init(maximumDelay: Duration = .milliseconds(100), maximumBytes: Int = 4 << 20) {
        self.maximumDelay = maximumDelay
        self.maximumBytes = maximumBytes
    }

    var counters: Counters { state.withLock { $0.counters } }
    var count: Int { state.withLock { $0.entries.count - $0.head } }

    /// Queues `packet`; false when it was dropped (queue full or closed).
    @discardableResult
    func offer(_ packet: [UInt8], now: ContinuousClock.Instant = .now) -> Bool {
        let cost = packet.count + Self.entryOverhead
        let (accepted, waiter) = state.withLock { state -> (Bool, CheckedContinuation<[UInt8]?, Never>?) in
            guard !state.closed else { return (false, nil) }
            if let waiter = state.waiter {
                // The consumer is idle and waiting: hand the packet over directly.
                state.waiter = nil
                state.counters.enqueued += 1
                return (true, waiter)
            }
            if state.head < state.entries.count {
                let oldest = state.entries[state.head].enqueuedAt
                if now - oldest > maximumDelay || state.bytes + cost > maximumBytes {
                    state.counters.dropped += 1
                    return (false, nil)
                }
            }
            state.entries.append(Entry(bytes: packet, enqueuedAt: now))
            state.bytes += cost
            state.counters.enqueued += 1
            return (true, nil)
        }
        waiter?.resume(returning: packet)
        return accepted
    }

    /// The next packet, waiting for one; nil once closed.
    func next() async -> [UInt8]? {
        await withCheckedContinuation { (continuation: CheckedContinuation<[UInt8]?, Never>) in
            let ready: [UInt8]?? = state.withLock { state in
                if state.head < state.entries.count {
                    let entry = state.entries[state.head]
                    state.head += 1
                    state.bytes -= entry.bytes.count + Self.entryOverhead
                    if state.head == state.entries.count {
                        state.entries.removeAll(keepingCapacity: true)
                        state.head = 0
                    } else if state.head > 1024 {
                        state.entries.removeFirst(state.head)
                        state.head = 0
                    }
                    return .some(entry.bytes)
                }
                if state.closed { return .some(nil) }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    func markSent() { state.withLock { $0.counters.sent += 1 } }
    func markUnsent() { state.withLock { $0.counters.unsent += 1 } }

    /// Ends the queue: waiting packets are discarded, the consumer gets nil.
    func close() {
        let waiter = state.withLock { state -> CheckedContinuation<[UInt8]?, Never>? in
            state.closed = true
            state.entries = []
            state.head = 0
            state.bytes = 0
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }
}
