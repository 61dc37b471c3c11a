import Synchronization

/// An unbounded FIFO of datagrams between two actors that hands the consumer everything queued
/// at once: one wake-up per burst instead of one actor hop per datagram (an `AsyncStream`
/// element costs a task resumption each; at 16 KB messages that is ~15 datagrams a message).
///
/// One consumer at a time; any number of producers, from any thread.
final class DatagramQueue: Sendable {
    private struct State {
        var items: [[UInt8]] = []
        var waiter: CheckedContinuation<[[UInt8]]?, Never>?
        var finished = false
    }

    private let state = Mutex(State())

    init() {}

    func push(_ datagram: [UInt8]) {
        let resume: (CheckedContinuation<[[UInt8]]?, Never>, [[UInt8]])? = state.withLock { state in
            guard !state.finished else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter, [datagram])
            }
            state.items.append(datagram)
            return nil
        }
        if let (waiter, batch) = resume { waiter.resume(returning: batch) }
    }

    /// Everything queued, waiting if nothing is; nil once finished and drained.
    func nextBatch() async -> [[UInt8]]? {
        await withCheckedContinuation { (continuation: CheckedContinuation<[[UInt8]]?, Never>) in
            let ready: [[UInt8]]?? = state.withLock { state in
                if !state.items.isEmpty {
                    defer { state.items = [] }
                    return .some(state.items)
                }
                if state.finished { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<[[UInt8]]?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.items.isEmpty ? state.waiter : nil
        }
        waiter?.resume(returning: nil)
    }
}

extension DataChannelTransport {
    /// Feeds every datagram of `queue` to DTLS, on this actor (ICE → DTLS direction).
    func receiveAll(from queue: DatagramQueue) async {
        while let batch = await queue.nextBatch() {
            for datagram in batch { receive(datagram) }
        }
    }
}
