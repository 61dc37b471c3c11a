#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The clock of every time a recorder writes (frame receive times, event times, split
/// boundaries; schemas/recording-format.md, "Clocks"): Unix nanoseconds read from the system
/// clock once, when the clock is made, then advanced by the boot-time clock.
///
/// NTP slews the system clock and the boot-time clock alike, so this one follows a disciplined
/// system clock; but a step of the system clock (NTP's first sync on a robot without a real-time
/// clock, `date -s`) does not move it, so a session keeps the spacing its frames arrived with.
/// `systemOffsetNs` tells how far the system clock has moved away since, which is how a step is
/// noticed (`ClockStepWatch`).
public final class SessionClock: Sendable {
    /// The process's one session clock, anchored at its first use.
    public static let system = SessionClock()

    private let anchorSystemNs: Int64
    private let anchorElapsedNs: Int64
    private let systemNs: @Sendable () -> Int64
    private let elapsedNs: @Sendable () -> Int64

    /// `systemNs`: the system clock (Unix ns); `elapsedNs`: a clock that never steps. Tests pass
    /// their own to step the first.
    public init(systemNs: @escaping @Sendable () -> Int64 = UnixTime.nowNs,
                elapsedNs: @escaping @Sendable () -> Int64 = SessionClock.bootTimeNs) {
        self.systemNs = systemNs
        self.elapsedNs = elapsedNs
        anchorElapsedNs = elapsedNs()
        anchorSystemNs = systemNs()
    }

    /// Now, in Unix nanoseconds of this session.
    public func nowNs() -> Int64 { anchorSystemNs &+ (elapsedNs() &- anchorElapsedNs) }

    /// The system clock minus this clock: 0 at the anchor, plus the sum of every step since.
    public func systemOffsetNs() -> Int64 {
        let elapsed = elapsedNs()
        return systemNs() &- (anchorSystemNs &+ (elapsed &- anchorElapsedNs))
    }

    /// CLOCK_BOOTTIME: monotonic, never stepped, and it keeps counting through a suspend, as
    /// the system clock does.
    public static func bootTimeNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }
}

/// Notices steps of the system clock against a `SessionClock`: their offset changes only when
/// the system clock is stepped, so a change of at least `thresholdNs` since the last one
/// reported is a step.
public struct ClockStepWatch: Sendable {
    public let thresholdNs: Int64
    private var reportedOffsetNs: Int64

    public init(offsetNs: Int64 = 0, thresholdNs: Int64 = 100_000_000) {
        reportedOffsetNs = offsetNs
        self.thresholdNs = thresholdNs
    }

    /// The step since the last one reported, if it is one.
    public mutating func check(offsetNs: Int64) -> Int64? {
        let step = offsetNs &- reportedOffsetNs
        guard step.magnitude >= thresholdNs.magnitude else { return nil }
        reportedOffsetNs = offsetNs
        return step
    }

    /// The event text, to the nearest millisecond: `system clock stepped by +3600.000 s; receive
    /// times follow the monotonic clock`.
    public static func describe(stepNs: Int64) -> String {
        let ms = (stepNs.magnitude + 500_000) / 1_000_000
        let fraction = String(ms % 1000)
        return "system clock stepped by \(stepNs < 0 ? "-" : "+")\(ms / 1000)." +
            String(repeating: "0", count: 3 - fraction.count) + fraction + " s; receive times follow the monotonic clock"
    }
}
