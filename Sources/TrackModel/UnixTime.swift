#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time as trackbag stores and prints it: Unix nanoseconds (UTC), formatted without
/// Foundation. Deadlines and durations use the monotonic clock instead; this one is for
/// timestamps a person or another tool reads.
public enum UnixTime {
    /// CLOCK_REALTIME now, in Unix nanoseconds.
    public static func nowNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }

    /// `2026-11-26T13:22:40.123456789Z` (RFC 3339, nanoseconds).
    public static func iso8601(ns unixNs: Int64) -> String {
        let (parts, nanos) = utc(unixNs)
        let frac = String(nanos)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T" +
            "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))." +
            String(repeating: "0", count: 9 - frac.count) + frac + "Z"
    }

    /// `20261126-132240`: a UTC time that sorts and fits in a file name.
    public static func compact(ns unixNs: Int64) -> String {
        let (parts, _) = utc(unixNs)
        return "\(pad(parts.tm_year + 1900, 4))\(pad(parts.tm_mon + 1, 2))\(pad(parts.tm_mday, 2))-" +
            "\(pad(parts.tm_hour, 2))\(pad(parts.tm_min, 2))\(pad(parts.tm_sec, 2))"
    }

    /// Broken-down UTC time and the nanoseconds within the second (floored, so times before
    /// 1970 format correctly too).
    private static func utc(_ unixNs: Int64) -> (tm, Int64) {
        let secs = unixNs >= 0 ? unixNs / 1_000_000_000 : (unixNs + 1) / 1_000_000_000 - 1
        let nanos = unixNs - secs &* 1_000_000_000
        var t = time_t(secs)
        var parts = tm()
        gmtime_r(&t, &parts)
        return (parts, nanos)
    }

    private static func pad(_ v: Int32, _ n: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, n - s.count)) + s
    }
}
