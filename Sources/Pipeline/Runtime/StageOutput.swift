import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Monotonic nanoseconds, for per-stage busy time (vDSO `clock_gettime`, tens of ns).
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// A stage's output: fans each batch out to the queue of every stage that names it as input
/// (batches are copy-on-write, so fan-out shares the frames). Sources call it from any task, so
/// its counters sit behind a mutex.
final class StageOutput: BatchEmitter {
    struct Tally {
        var frames: UInt64 = 0
        var bytes: UInt64 = 0
        /// Time spent inside `emit` (waiting on full queues); subtracted from a source's busy time.
        var emitNanoseconds: UInt64 = 0
    }

    let queues: [BatchQueue]
    let tally = Mutex(Tally())
    let checksCancellation: Bool

    init(queues: [BatchQueue], checksCancellation: Bool) {
        self.queues = queues
        self.checksCancellation = checksCancellation
    }

    func emit(_ batch: consuming Batch) async throws {
        if batch.isEmpty { return }
        // A source learns the pipeline is shutting down from here (Stage.swift contract).
        if checksCancellation { try Task.checkCancellation() }
        let start = monotonicNanoseconds()
        let bytes = batch.payloadBytes
        let frameCount = batch.frames.count
        // The last queue gets the batch itself (moved); the others share its storage.
        for queue in queues.dropLast() { try await queue.push(copy batch) }
        if let last = queues.last { try await last.push(batch) }
        let spent = monotonicNanoseconds() &- start
        tally.withLock {
            $0.frames &+= UInt64(frameCount)
            $0.bytes &+= UInt64(bytes)
            $0.emitNanoseconds &+= spent
        }
    }

    func close() {
        for queue in queues { queue.close() }
    }
}
