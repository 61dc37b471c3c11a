import Pipeline
import Recording
import TrackModel

/// Thins each track on its own: by receive time (`max_rate_hz`: a frame is kept when at least
/// 1/rate seconds passed since the last kept one of its track) or by count (`every: N`). Kept
/// frames pass unchanged; events pass through.
public actor Downsample: TransformStage {
    public let config: Config
    /// Per track: receive time of the last kept frame (nil before the first), or frames seen
    /// so far.
    private var lastKept = TrackSlots<Int64?>()
    private var seen = TrackSlots<UInt64>()

    public init(config: Config) {
        self.config = config
    }

    /// Keeps or drops by track and time; the value is never read.
    public nonisolated var valueReads: ValueReads { .none }

    public func process(_ batch: Batch) async throws -> Batch {
        var out = Batch(frames: [], events: batch.events)
        switch config.rule {
        case .every(let n):
            if n == 1 { return batch }
            // Worked on in a local, put back at the end: an actor's stored `var` accessed per
            // frame is a dynamic exclusivity check each time.
            var seen = self.seen
            self.seen = TrackSlots()
            defer { self.seen = seen }
            // Fields are read in place; only kept frames are copied.
            batch.frames.withUnsafeBufferPointer { frames in
                for i in frames.indices {
                    let slot = seen.slot(for: frames[i].track, initial: 0)
                    let count = seen.states[slot]
                    seen.states[slot] = count + 1
                    if count % UInt64(n) == 0 { out.frames.append(frames[i]) }
                }
            }
        case .maxRateHz(let hz):
            let period = Int64((1e9 / hz).rounded())
            var lastKept = self.lastKept
            self.lastKept = TrackSlots()
            defer { self.lastKept = lastKept }
            batch.frames.withUnsafeBufferPointer { frames in
                for i in frames.indices {
                    let time = frames[i].receiveTimeNs
                    let slot = lastKept.slot(for: frames[i].track, initial: nil)
                    if let last = lastKept.states[slot] {
                        let delta = time &- last
                        // A time going backwards (a looped replay) restarts the track's window.
                        if delta >= 0 && delta < period { continue }
                    }
                    lastKept.states[slot] = time
                    out.frames.append(frames[i])
                }
            }
        }
        return out
    }
}
