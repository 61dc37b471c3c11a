/// A command to a paced replay, whoever gives it: `trackbag play`'s RPC methods (docs/rpc.md)
/// and its terminal keys both turn what they receive into one of these and `perform` it, so a
/// key and the RPC method of the same name do the same thing.
public enum ReplayCommand: Sendable, Equatable {
    case pause
    case resume
    /// Pause when playing, resume when paused (the space bar).
    case toggle
    /// Set the speed factor (0 < rate ≤ `ReplayCommand.maximumRate`).
    case rate(Double)
    /// Multiply the speed factor, kept within `minimumRate…maximumRate` (`+`/`-`).
    case scaleRate(by: Double)
    /// While paused: the next N frames go out at once.
    case stepFrames(Int)
    /// While paused: every frame up to this much recording time past the position.
    case stepDuration(nanoseconds: Int64)
    case seek(ReplayControl.SeekTarget)
    /// Seek from the position by this much recording time (negative: back), kept within the
    /// session (the arrow keys).
    case seekBy(nanoseconds: Int64)

    public static let maximumRate = 1000.0
    public static let minimumRate = 1.0 / 1024
}

/// Why a command was not carried out (the RPC's "not now": a step while playing, a seek outside
/// the session or before the recording is open).
public struct ReplayCommandRefusal: Error, Sendable, Equatable {
    public var reason: String
}

extension ReplayControl {
    /// Carries `command` out; returns what it did, in words for a log line.
    @discardableResult
    public func perform(_ command: ReplayCommand) throws(ReplayCommandRefusal) -> String {
        switch command {
        case .pause:
            pause()
            return "paused"
        case .resume:
            resume()
            return "resumed"
        case .toggle:
            return toggle() ? "paused" : "resumed"
        case .rate(let rate):
            guard rate > 0, rate <= ReplayCommand.maximumRate, rate.isFinite else {
                throw ReplayCommandRefusal(reason: "rate must be > 0 and ≤ \(ReplayCommand.maximumRate)")
            }
            setRate(rate)
            return rateWords(rate)
        case .scaleRate(let factor):
            let rate = min(ReplayCommand.maximumRate, max(ReplayCommand.minimumRate, status.rate * factor))
            setRate(rate)
            return rateWords(rate)
        case .stepFrames(let frames):
            guard step(frames: frames) else { throw Self.stepRefusal }
            return frames == 1 ? "step 1 frame" : "step \(frames) frames"
        case .stepDuration(let ns):
            guard step(nanoseconds: ns) else { throw Self.stepRefusal }
            return "step \(Self.seconds(ns)) s"
        case .seek(let target):
            if let refusal = seek(target) { throw ReplayCommandRefusal(reason: refusal) }
            return seekWords(target)
        case .seekBy(let delta):
            let now = status
            guard let first = now.firstNs, let last = now.lastNs else {
                throw ReplayCommandRefusal(reason: "the replay has not opened its recording yet")
            }
            // From the last frame sent (the start before the first), clamped to the session.
            let (sum, overflow) = (now.offsetNs ?? 0).addingReportingOverflow(delta)
            let offset = min(last - first, max(0, overflow ? (delta > 0 ? .max : 0) : sum))
            let target = ReplayControl.SeekTarget.offset(nanoseconds: offset)
            if let refusal = seek(target) { throw ReplayCommandRefusal(reason: refusal) }
            return seekWords(target)
        }
    }

    private static let stepRefusal = ReplayCommandRefusal(reason: "step works while paused (pause first)")

    private func rateWords(_ rate: Double) -> String {
        "rate \(Self.rateText(rate))" + (isPaused ? " (from resume)" : "")
    }

    private func seekWords(_ target: ReplayControl.SeekTarget) -> String {
        let words: String
        switch target {
        case .offset(let ns): words = "seek to \(Self.seconds(ns)) s"
        case .unixNanoseconds(let ns): words = "seek to \(ns) ns"
        }
        return words + (isPaused ? " (paused)" : "")
    }

    /// A rate as short as it reads: 2, 0.5, 0.25, 0.001.
    public static func rateText(_ rate: Double) -> String {
        rate == rate.rounded() && rate < 1e9 ? String(Int(rate)) : String(rate)
    }

    static func seconds(_ ns: Int64) -> String {
        let ms = ns / 1_000_000
        let sign = ms < 0 ? "-" : ""
        let whole = abs(ms) / 1000, fraction = abs(ms) % 1000
        return "\(sign)\(whole).\(String(repeating: "0", count: 3 - String(fraction).count))\(fraction)"
    }
}
