import DataTracks
import Synchronization

/// Frames of one remote data track for one subscriber, as an `AsyncSequence`
/// (`RemoteDataTrack.subscribe(bufferSize:)`). It ends when the track is unpublished, the
/// room disconnects, or the consumer stops iterating. A full buffer drops the *new* frame
/// (docs/WIRE.md, "Subscriber buffer"); `droppedFrames` counts them.
public struct DataTrackSubscription: AsyncSequence, Sendable {
    public typealias Element = DataTrackFrame

    let stream: AsyncStream<DataTrackFrame>
    let counters: SubscriptionCounters

    /// Frames dropped because this subscription's buffer was full.
    public var droppedFrames: Int { counters.dropped.load(ordering: .relaxed) }
    /// Frames delivered into the buffer.
    public var receivedFrames: Int { counters.received.load(ordering: .relaxed) }
    /// Frames of this track that arrived incomplete (a packet lost before reassembly), since
    /// this subscription began.
    public var incompleteFrames: Int { counters.incomplete.load(ordering: .relaxed) }
    /// Frames of this track of which nothing arrived: their frame numbers were skipped, so the
    /// sender, the link or the server lost them (`FrameLossLedger`).
    public var missingFrames: Int { counters.missing.load(ordering: .relaxed) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<DataTrackFrame>.AsyncIterator
        public mutating func next() async -> DataTrackFrame? { await base.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: stream.makeAsyncIterator()) }
}

final class SubscriptionCounters: Sendable {
    let dropped = Atomic<Int>(0)
    let received = Atomic<Int>(0)
    let incomplete = Atomic<Int>(0)
    let missing = Atomic<Int>(0)
}

/// Every subscription of one remote track: frames fan out to each subscription's own bounded
/// buffer. Pure bookkeeping owned by the room actor; tests drive it directly.
struct SubscriptionFanout {
    private struct Sink {
        var continuation: AsyncStream<DataTrackFrame>.Continuation
        var counters: SubscriptionCounters
    }

    private var sinks: [Int: Sink] = [:]
    private var nextID = 0

    var isEmpty: Bool { sinks.isEmpty }
    var count: Int { sinks.count }

    /// A new subscription; it sees only frames delivered after this call. `onTermination` runs
    /// when its consumer stops iterating (not when `finishAll` ends it).
    mutating func add(bufferSize: Int, onTermination: @escaping @Sendable (Int) -> Void) -> (Int, DataTrackSubscription) {
        let id = nextID
        nextID += 1
        let (stream, continuation) = AsyncStream.makeStream(of: DataTrackFrame.self,
                                                            bufferingPolicy: .bufferingOldest(max(1, bufferSize)))
        continuation.onTermination = { reason in
            if case .cancelled = reason { onTermination(id) }
        }
        let counters = SubscriptionCounters()
        sinks[id] = Sink(continuation: continuation, counters: counters)
        return (id, DataTrackSubscription(stream: stream, counters: counters))
    }

    mutating func remove(_ id: Int) {
        sinks.removeValue(forKey: id)?.continuation.finish()
    }

    /// Gives `frame` to every subscription; returns how many buffers were full.
    @discardableResult
    func deliver(_ frame: DataTrackFrame) -> Int {
        var dropped = 0
        for sink in sinks.values {
            switch sink.continuation.yield(frame) {
            case .enqueued:
                sink.counters.received.add(1, ordering: .relaxed)
            case .dropped:
                sink.counters.dropped.add(1, ordering: .relaxed)
                dropped += 1
            case .terminated:
                break
            @unknown default:
                break
            }
        }
        return dropped
    }

    /// Counts frames of this track lost before they could be delivered, on every subscription.
    func countLost(_ change: FrameLossLedger.Change) {
        for sink in sinks.values {
            sink.counters.incomplete.add(change.incomplete, ordering: .relaxed)
            sink.counters.missing.add(change.missing, ordering: .relaxed)
        }
    }

    /// Ends every subscription (track unpublished, room disconnected).
    mutating func finishAll() {
        for sink in sinks.values { sink.continuation.finish() }
        sinks = [:]
    }
}
