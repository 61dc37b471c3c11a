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

    public func process(_ batch: consuming Batch) async throws -> Batch {
        // Frames are kept in the batch's own storage (it is ours): none is copied. The tables
        // are worked on in locals, put back at the end: an actor's stored `var` accessed per
        // frame is a dynamic exclusivity check each time.
        switch config.rule {
        case .every(let n):
            if n == 1 { return batch }
            var seen = self.seen
            self.seen = TrackSlots()
            defer { self.seen = seen }
            batch.updateFrames { frame in
                let slot = seen.slot(for: frame.track, initial: 0)
                let count = seen.states[slot]
                seen.states[slot] = count + 1
                return count % UInt64(n) == 0
            }
        case .maxRateHz(let hz):
            let period = Int64((1e9 / hz).rounded())
            var lastKept = self.lastKept
            self.lastKept = TrackSlots()
            defer { self.lastKept = lastKept }
            batch.updateFrames { frame in
                let time = frame.receiveTimeNs
                let slot = lastKept.slot(for: frame.track, initial: nil)
                if let last = lastKept.states[slot] {
                    let delta = time &- last
                    // A time going backwards (a looped replay) restarts the track's window.
                    if delta >= 0 && delta < period { return false }
                }
                lastKept.states[slot] = time
                return true
            }
        }
        return batch
    }
}
