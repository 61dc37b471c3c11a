import Pipeline
import Recording
import TrackModel

/// Thins each track on its own: by receive time (`max_rate_hz`: a frame is kept when at least
/// 1/rate seconds passed since the last kept one of its track) or by count (`every: N`). Kept
/// frames pass unchanged; events pass through.
public actor Downsample: TransformStage {
    public let config: Config
    /// Per track: receive time of the last kept frame, or frames seen so far.
    private var lastKept: [TrackKey: Int64] = [:]
    private var seen: [TrackKey: UInt64] = [:]

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
            for frame in batch.frames {
                let key = frame.track.key
                let count = seen[key, default: 0]
                seen[key] = count + 1
                if count % UInt64(n) == 0 { out.frames.append(frame) }
            }
        case .maxRateHz(let hz):
            let period = Int64((1e9 / hz).rounded())
            for frame in batch.frames {
                let key = frame.track.key
                if let last = lastKept[key] {
                    let delta = frame.receiveTimeNs &- last
                    // A time going backwards (a looped replay) restarts the track's window.
                    if delta >= 0 && delta < period { continue }
                }
                lastKept[key] = frame.receiveTimeNs
                out.frames.append(frame)
            }
        }
        return out
    }
}
