import Synchronization

/// The bounded queue in front of one transform or sink: many producers (its inputs), one
/// consumer (the stage's task). Capacity is in frames (see `EdgeBuffer`) and in payload bytes
/// (`capacityBytes`): 4096 frames of a few hundred bytes are the common case, 4096 frames of a
/// megabyte (a file can hold them) would be gigabytes.
///
/// Why a mutex and continuations rather than an actor or an AsyncStream: a hop is paid per
/// batch, and the producer must learn synchronously whether a drop policy discarded its batch
/// (for the counters); the critical sections are a few array operations.
final class BatchQueue: Sendable {
    struct State {
        var batches: [Batch] = []
        /// Payload bytes of `batches[i]`.
        var sizes: [Int] = []
        var head = 0
        var queuedFrames = 0
        var queuedBytes = 0
        var openProducers: Int
        /// The consumer failed or the pipeline is being torn down: accept and discard everything.
        var abandoned = false
        var consumer: CheckedContinuation<Batch?, Never>?
        var blockedProducers: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextWaiterID: UInt64 = 0
        var droppedFrames: UInt64 = 0

        var isEmpty: Bool { head == batches.count }

        mutating func popFirst() -> Batch? {
            guard head < batches.count else { return nil }
            let batch = batches[head]
            batches[head] = Batch()
            queuedBytes -= sizes[head]
            head += 1
            if head == batches.count {
                batches.removeAll(keepingCapacity: true)
                sizes.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 64 && head * 2 > batches.count {
                batches.removeFirst(head)
                sizes.removeFirst(head)
                head = 0
            }
            queuedFrames -= batch.frames.count
            return batch
        }
    }

    let capacity: Int
    /// Payload bytes queued before the queue counts as full (one batch always fits).
    let capacityBytes: Int
    static let defaultCapacityBytes = 64 << 20
    let policy: OverflowPolicy
    private let state: Mutex<State>

    init(capacity: Int, policy: OverflowPolicy, producers: Int, capacityBytes: Int = BatchQueue.defaultCapacityBytes) {
        self.capacity = max(1, capacity)
        self.capacityBytes = max(1, capacityBytes)
        self.policy = policy
        state = Mutex(State(openProducers: producers))
    }

    var droppedFrames: UInt64 { state.withLock { $0.droppedFrames } }
    /// Frames waiting now.
    var depth: Int { state.withLock { $0.queuedFrames } }

    /// Offers a batch. Under `block` this waits while the queue is full and throws
    /// `CancellationError` if the producer's task is cancelled while waiting.
    func push(_ batch: consuming Batch) async throws {
        let bytes = batch.payloadBytes
        let frameCount = batch.frames.count
        // The batch is moved, never copied, into the queue or to the consumer: the consumer then
        // holds the frames alone and may change them in place (`Batch.updateFrames`). A copy
        // still held here while the consumer ran would make it copy every frame.
        var pending: Batch? = consume batch
        while true {
            enum Outcome { case done, wait }
            var wake: CheckedContinuation<Batch?, Never>?
            var handed: Batch?
            let outcome: Outcome = state.withLock { s in
                if s.abandoned {
                    s.droppedFrames += UInt64(frameCount)
                    pending = nil
                    return .done
                }
                // A waiting consumer means the queue is empty: hand the batch straight over.
                if let consumer = s.consumer {
                    s.consumer = nil
                    wake = consumer
                    handed = pending.take()
                    return .done
                }
                let full = !s.isEmpty && (s.queuedFrames >= capacity || s.queuedBytes >= capacityBytes)
                switch policy {
                case .block:
                    if full { return .wait }
                case .dropNewest:
                    if full {
                        s.droppedFrames += UInt64(frameCount)
                        pending = nil
                        return .done
                    }
                case .dropOldest:
                    // Make room by discarding whole batches from the front, oldest first.
                    while !s.isEmpty && (s.queuedFrames + frameCount > capacity || s.queuedBytes + bytes > capacityBytes),
                          let old = s.popFirst() {
                        s.droppedFrames += UInt64(old.frames.count)
                    }
                }
                s.batches.append(pending.take() ?? Batch())
                s.sizes.append(bytes)
                s.queuedFrames += frameCount
                s.queuedBytes += bytes
                return .done
            }
            if let wake { wake.resume(returning: handed.take()) }
            if outcome == .done { return }
            try await waitForRoom()
        }
    }

    private func waitForRoom() async throws {
        let id = state.withLock { s -> UInt64 in
            s.nextWaiterID += 1
            return s.nextWaiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Bool = state.withLock { s in
                    // Re-check under the lock: room may have appeared, or we were cancelled, since
                    // the caller decided to wait.
                    if Task.isCancelled || s.abandoned || s.isEmpty
                        || (s.queuedFrames < capacity && s.queuedBytes < capacityBytes) { return true }
                    s.blockedProducers.append((id, continuation))
                    return false
                }
                if resumeNow {
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        continuation.resume()
                    }
                }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Void, any Error>? = state.withLock { s in
                guard let index = s.blockedProducers.firstIndex(where: { $0.id == id }) else { return nil }
                return s.blockedProducers.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// One producer has ended. When all have and the queue is empty, `next` returns nil.
    func close() {
        let consumer: CheckedContinuation<Batch?, Never>? = state.withLock { s in
            s.openProducers -= 1
            guard s.openProducers <= 0, s.isEmpty, let c = s.consumer else { return nil }
            s.consumer = nil
            return c
        }
        consumer?.resume(returning: nil)
    }

    /// The next batch, or nil once every producer has closed and the queue is drained.
    func next() async -> Batch? {
        enum Step { case batch(Batch, [CheckedContinuation<Void, any Error>]), end, wait }
        let step: Step = state.withLock { s in
            if let batch = s.popFirst() {
                let woken = s.blockedProducers.map(\.continuation)
                s.blockedProducers.removeAll()
                return .batch(batch, woken)
            }
            return s.openProducers <= 0 || s.abandoned ? .end : .wait
        }
        switch step {
        case .batch(let batch, let woken):
            for producer in woken { producer.resume() }
            return batch
        case .end:
            return nil
        case .wait:
            return await withCheckedContinuation { (continuation: CheckedContinuation<Batch?, Never>) in
                var woken: [CheckedContinuation<Void, any Error>] = []
                let immediate: Batch?? = state.withLock { s in
                    if let batch = s.popFirst() {
                        woken = s.blockedProducers.map(\.continuation)
                        s.blockedProducers.removeAll()
                        return .some(batch)
                    }
                    if s.openProducers <= 0 || s.abandoned { return .some(nil) }
                    s.consumer = continuation
                    return .none
                }
                for producer in woken { producer.resume() }
                if let immediate { continuation.resume(returning: immediate) }
            }
        }
    }

    /// The consumer is gone (it failed) or the run is being torn down: drop what is queued,
    /// release blocked producers, and accept (and count as dropped) whatever comes next.
    func abandon() {
        let (producers, consumer): ([CheckedContinuation<Void, any Error>], CheckedContinuation<Batch?, Never>?) = state.withLock { s in
            s.abandoned = true
            while let old = s.popFirst() { s.droppedFrames += UInt64(old.frames.count) }
            let woken = s.blockedProducers.map(\.continuation)
            s.blockedProducers.removeAll()
            let c = s.consumer
            s.consumer = nil
            return (woken, c)
        }
        for producer in producers { producer.resume() }
        consumer?.resume(returning: nil)
    }
}
