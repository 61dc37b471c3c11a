import Synchronization

/// A bounded FIFO between producers (a receive thread, another actor) and one consumer task
/// that hands the consumer everything queued at once: one wake-up per burst instead of one
/// actor hop per datagram (an `AsyncStream` element costs a task resumption each; at 16 KB
/// messages that is ~15 datagrams a message).
///
/// Bounded in bytes: each element is charged its size plus `overhead` (so empty or tiny
/// datagrams cannot pile up by the million), and one that would take the queue past
/// `byteLimit` is dropped and counted: a tail drop, as a full socket receive buffer does, so
/// what is queued stays in order and the peer's own recovery (SCTP retransmission, DTLS
/// handshake timers) sees an ordinary loss. A consumer that is already waiting gets the element
/// directly, whatever its size.
///
/// One consumer at a time; any number of producers, from any thread.
final class DatagramQueue<Element: Sendable>: Sendable {
    struct Counters: Equatable, Sendable {
        var dropped = 0
        var droppedBytes = 0
        /// The most bytes ever waiting at once.
        var peakBytes = 0
    }

    private struct State {
        var items: [Element] = []
        var bytes = 0
        var waiter: CheckedContinuation<[Element]?, Never>?
        var finished = false
        var counters = Counters()
    }

    let byteLimit: Int
    let overhead: Int
    private let size: @Sendable (Element) -> Int
    private let state = Mutex(State())

    /// - Parameters:
    ///   - byteLimit: most bytes (sizes plus overheads) waiting at once.
    ///   - overhead: what each element costs beyond its size (array headers, bookkeeping).
    ///   - size: an element's size in bytes.
    init(byteLimit: Int, overhead: Int = 64, size: @escaping @Sendable (Element) -> Int) {
        self.byteLimit = byteLimit
        self.overhead = overhead
        self.size = size
    }

    var counters: Counters { state.withLock { $0.counters } }

    /// Queues one element; false when it was dropped (queue full or finished).
    @discardableResult
    func push(_ element: Element) -> Bool {
        let cost = size(element) + overhead
        let resume: CheckedContinuation<[Element]?, Never>?? = state.withLock { state in
            guard !state.finished else { return .some(nil) }
            if let waiter = state.waiter {
                state.waiter = nil
                return .some(waiter)
            }
            guard state.bytes + cost <= byteLimit else {
                state.counters.dropped += 1
                state.counters.droppedBytes += cost - overhead
                return .some(nil)
            }
            state.items.append(element)
            state.bytes += cost
            state.counters.peakBytes = max(state.counters.peakBytes, state.bytes)
            return .none
        }
        switch resume {
        case .none: return true
        case .some(nil): return false
        case .some(let waiter?):
            waiter.resume(returning: [element])
            return true
        }
    }

    /// Queues a batch in order, dropping (and counting) the elements that do not fit; returns
    /// how many were taken. One lock for the whole batch.
    @discardableResult
    func push(contentsOf batch: [Element]) -> Int {
        guard !batch.isEmpty else { return 0 }
        let (taken, resume) = state.withLock { state -> (Int, CheckedContinuation<[Element]?, Never>?) in
            guard !state.finished else { return (0, nil) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (batch.count, waiter)
            }
            var taken = 0
            for element in batch {
                let cost = size(element) + overhead
                if state.bytes + cost <= byteLimit {
                    state.items.append(element)
                    state.bytes += cost
                    taken += 1
                    state.counters.peakBytes = max(state.counters.peakBytes, state.bytes)
                } else {
                    state.counters.dropped += 1
                    state.counters.droppedBytes += cost - overhead
                }
            }
            return (taken, nil)
        }
        resume?.resume(returning: batch)
        return taken
    }

    /// Everything queued, waiting if nothing is; nil once finished and drained.
    func nextBatch() async -> [Element]? {
        await withCheckedContinuation { (continuation: CheckedContinuation<[Element]?, Never>) in
            let ready: [Element]?? = state.withLock { state in
                if !state.items.isEmpty {
                    defer {
                        state.items = []
                        state.bytes = 0
                    }
                    return .some(state.items)
                }
                if state.finished { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// No more elements are taken; the consumer drains what is queued, then gets nil.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<[Element]?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.items.isEmpty ? state.waiter : nil
        }
        waiter?.resume(returning: nil)
    }
}

extension DatagramQueue where Element == [UInt8] {
    /// Datagrams, charged their length.
    convenience init(byteLimit: Int, overhead: Int = 64) {
        self.init(byteLimit: byteLimit, overhead: overhead) { $0.count }
    }
}

extension DataChannelTransport {
    /// Feeds every datagram of `queue` to DTLS, on this actor (ICE → DTLS direction), a batch
    /// at a time (`receive(batch:)`: one SACK per batch).
    func receiveAll(from queue: DatagramQueue<[UInt8]>) async {
        while let batch = await queue.nextBatch() {
            receive(batch: batch)
        }
    }
}
