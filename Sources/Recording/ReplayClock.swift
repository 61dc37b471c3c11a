#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Paces a replay on receive times (docs/ARCHITECTURE.md): frame k is due at the absolute monotonic
/// deadline `t0 + (time_k - origin) / rate`, never after an accumulated sleep, so scheduling
/// error does not add up (measured: relative sleeps drifted 7% here, absolute
/// `clock_nanosleep` deadlines 0.06 ms over 5 s). It measures its own lateness (actual wake-up
/// minus deadline) for every frame it paces.
///
/// Pause shifts t0 by the paused time; a rate change re-anchors t0 so the current position
/// stays put. A value type owned by the one task that replays.
public struct ReplayClock: Sendable {
    public private(set) var rate: Double
    /// Monotonic ns of recording time `origin`; nil until the first `wait`.
    private var t0: Int64?
    private var origin: Int64 = 0
    private var pausedAt: Int64?
    public private(set) var lateness = LatenessHistogram()
    /// Overload `slow`: how much later than recorded the replay runs, and in how many steps.
    public private(set) var slowedNs: Int64 = 0
    public private(set) var slowdowns = 0
    /// Overload `drop`: frames left out because they were already too late.
    public private(set) var droppedLate = 0

    public init(rate: Double = 1) {
        self.rate = rate > 0 && rate.isFinite ? rate : 1
    }

    /// Anchors recording time `recordingTimeNs` at now (the first `wait` does this itself).
    public mutating func start(at recordingTimeNs: Int64, now: Int64 = ReplayClock.now()) {
        origin = recordingTimeNs
        t0 = now
    }

    /// The monotonic deadline of a recording time.
    public func deadline(for recordingTimeNs: Int64) -> Int64 {
        let base = t0 ?? Self.now()
        // Times come from a file: their difference may not fit Int64, nor its scaled value.
        let (difference, overflow) = recordingTimeNs.subtractingReportingOverflow(origin)
        let delta = (overflow ? Double(recordingTimeNs) - Double(origin) : Double(difference)) / rate
        return Self.saturatingAdd(base, delta.rounded())
    }

    /// `base + delta`, clamped to the Int64 range instead of trapping or wrapping.
    static func saturatingAdd(_ base: Int64, _ delta: Double) -> Int64 {
        let sum = Double(base) + delta
        if sum.isNaN { return base }
        if sum >= 9.2e18 { return .max }
        if sum <= -9.2e18 { return .min }
        guard let step = Int64(exactly: delta) else { return Int64(sum) }
        let (r, o) = base.addingReportingOverflow(step)
        return o ? (step > 0 ? .max : .min) : r
    }

    /// Blocks the calling thread until the frame at `recordingTimeNs` is due
    /// (`clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`), records the lateness and returns it.
    /// Frames already due return at once (their lateness is how late we are).
    @discardableResult
    public mutating func wait(until recordingTimeNs: Int64) -> Int64 {
        if t0 == nil { start(at: recordingTimeNs) }
        let due = deadline(for: recordingTimeNs)
        Self.sleep(untilMonotonic: due)
        let late = Self.now() &- due
        lateness.record(late)
        return late
    }

    /// Like `wait(until:)` but yields the thread for long waits: sleeps asynchronously until
    /// 2 ms before the deadline (cancellable), then finishes with an absolute clock_nanosleep
    /// so precision does not depend on the task scheduler.
    ///
    /// The coarse sleep names its tolerance: without one, Swift's executor on Linux hands the
    /// timer to libdispatch with its default leeway, a tenth of the interval (at least 1 ms),
    /// so a 38 ms wait (rate 0.25 of a 100 Hz track) may wake up to 3.8 ms late, past the
    /// 2 ms margin, and that lateness lands in the gap the subscriber sees.
    @discardableResult
    public mutating func waitAsync(until recordingTimeNs: Int64) async throws -> Int64 {
        if t0 == nil { start(at: recordingTimeNs) }
        let due = deadline(for: recordingTimeNs)
        let coarse = due &- Self.now() &- Self.coarseMarginNs
        if coarse > 0 { try await Self.sleepCoarsely(nanoseconds: coarse) }
        try Task.checkCancellation()
        return wait(until: recordingTimeNs)
    }

    public var isPaused: Bool { pausedAt != nil }
    /// True once a recording time is anchored to the monotonic clock (the first `wait`).
    public var isAnchored: Bool { t0 != nil }

    public mutating func pause(now: Int64 = ReplayClock.now()) {
        if pausedAt == nil { pausedAt = now }
    }

    /// Resumes; every later deadline moves by the time spent paused.
    public mutating func resume(now: Int64 = ReplayClock.now()) {
        guard let p = pausedAt else { return }
        pausedAt = nil
        if let t = t0 { t0 = t &+ (now &- p) }
    }

    /// Changes the rate without jumping: the recording time due now stays due now.
    public mutating func setRate(_ newRate: Double, now: Int64 = ReplayClock.now()) {
        guard newRate > 0, newRate.isFinite else { return }
        if let t = t0 {
            let position = Self.saturatingAdd(origin, (Double(now &- t) * rate).rounded())
            origin = position
            t0 = now
        }
        rate = newRate
    }

    /// Overload `slow`: moves every later deadline by `ns`, so the frame that was that late is
    /// on time and the ones after it keep their recorded spacing; the replay runs longer
    /// instead of bursting to catch up.
    public mutating func delay(by ns: Int64) {
        guard ns > 0, let t = t0 else { return }
        t0 = t &+ ns
        slowedNs &+= ns
        slowdowns += 1
    }

    /// Overload `drop`: counts a frame left out.
    public mutating func dropLate() { droppedLate += 1 }

    /// How late the frame at `recordingTimeNs` would be if it left now (negative: early).
    public func lateness(of recordingTimeNs: Int64, now: Int64 = ReplayClock.now()) -> Int64 {
        guard isAnchored else { return 0 }
        return now &- deadline(for: recordingTimeNs)
    }

    /// Restarts pacing (e.g. for a loop) keeping the lateness statistics.
    public mutating func restart() {
        t0 = nil
        pausedAt = nil
    }

    public static func now() -> Int64 { MonotonicClock.now() }

    /// How early the asynchronous sleep of `waitAsync` aims, and how late it may wake.
    public static let coarseMarginNs: Int64 = 2_000_000
    static let coarseTolerance: Duration = .microseconds(250)

    /// A cancellable sleep of about `nanoseconds` that wakes at most `coarseTolerance` late
    /// (plus scheduling), for the waits before a frame's precise deadline.
    public static func sleepCoarsely(nanoseconds: Int64) async throws {
        try await Task.sleep(for: .nanoseconds(nanoseconds), tolerance: coarseTolerance, clock: .suspending)
    }

    static func sleep(untilMonotonic deadline: Int64) {
        guard deadline > now() else { return }
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        #if os(Linux)
        // EINTR: a signal woke us early; the deadline is absolute so simply sleep again.
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
        #else
        while now() < deadline {
            var rel = timespec(tv_sec: 0, tv_nsec: Int(min(deadline - now(), 999_999_999)))
            nanosleep(&rel, nil)
        }
        _ = ts
        #endif
    }
}

/// Lateness samples in a fixed histogram (1 µs buckets up to 100 ms, then one overflow bucket
/// and the exact maximum), so memory stays flat however long the replay.
public struct LatenessHistogram: Sendable, Hashable {
    static let bucketCount = 100_000
    private var buckets: [UInt32] = []
    public private(set) var count = 0
    public private(set) var maxNs: Int64 = 0
    /// The last recorded lateness: at the end of a paced run this is the end drift (deadlines
    /// are absolute, so it is the whole accumulated error).
    public private(set) var lastNs: Int64 = 0
    public private(set) var sumNs: Int64 = 0

    public init() {}

    public mutating func record(_ latenessNs: Int64) {
        if buckets.isEmpty { buckets = [UInt32](repeating: 0, count: Self.bucketCount + 1) }
        let clamped = max(0, latenessNs)
        let i = min(Int(clamped / 1000), Self.bucketCount)
        buckets[i] &+= 1
        count += 1
        maxNs = max(maxNs, latenessNs)
        sumNs &+= clamped
        lastNs = latenessNs
    }

    /// The q-quantile (0…1) in nanoseconds, to 1 µs (upper edge of its bucket).
    public func quantileNs(_ q: Double) -> Int64 {
        guard count > 0 else { return 0 }
        let rank = max(1, Int((Double(count) * q).rounded(.up)))
        var seen = 0
        for (i, n) in buckets.enumerated() {
            seen += Int(n)
            if seen >= rank { return i == Self.bucketCount ? maxNs : Int64(i + 1) * 1000 }
        }
        return maxNs
    }

    public var p50Ns: Int64 { quantileNs(0.5) }
    public var p99Ns: Int64 { quantileNs(0.99) }
}

/// What a paced run reports when it ends.
public struct PacingReport: Sendable, Hashable, Encodable, CustomStringConvertible {
    public var frames: Int
    public var p50Ms: Double
    public var p99Ms: Double
    public var maxMs: Double
    public var endDriftMs: Double
    /// Overload `slow`: how much longer than recorded the replay ran, in how many steps.
    public var slowedMs: Double = 0
    public var slowdowns = 0
    /// Overload `drop`: frames left out for being too late.
    public var droppedLate = 0

    public init(_ h: LatenessHistogram) {
        frames = h.count
        p50Ms = Double(h.p50Ns) / 1e6
        p99Ms = Double(h.p99Ns) / 1e6
        maxMs = Double(h.maxNs) / 1e6
        endDriftMs = Double(h.lastNs) / 1e6
    }

    /// The report of a whole paced run, overload figures included.
    public init(_ clock: ReplayClock) {
        self.init(clock.lateness)
        slowedMs = Double(clock.slowedNs) / 1e6
        slowdowns = clock.slowdowns
        droppedLate = clock.droppedLate
    }

    public var description: String {
        func f(_ v: Double) -> String { String(format3(v)) }
        var text = "paced \(frames) frames: lateness p50 \(f(p50Ms)) ms, p99 \(f(p99Ms)) ms, max \(f(maxMs)) ms, end drift \(f(endDriftMs)) ms"
        if slowdowns > 0 { text += "; slowed \(f(slowedMs)) ms in \(slowdowns) step(s) to keep up" }
        if droppedLate > 0 { text += "; dropped \(droppedLate) frame(s) that were too late" }
        return text
    }
}

/// Three decimals without Foundation.
func format3(_ v: Double) -> String {
    let scaled = Int64((v * 1000).rounded())
    let sign = scaled < 0 ? "-" : ""
    let a = abs(scaled)
    let frac = String(a % 1000)
    return "\(sign)\(a / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
}
