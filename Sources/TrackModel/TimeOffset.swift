/// A time offset or duration as users type it: `90`, `1.5` (seconds), `1.5s`, `250ms`, `40us`,
/// `10ns`, `2m`, `1h`, `1m30s`. Used for `start`/`end` of replays and exports and for `split`.
public struct TimeOffset: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    public init(seconds: Double) { self.nanoseconds = Int64((seconds * 1e9).rounded()) }

    /// Parses `text`; a bad one throws `TrackModelError` (`.badTimeOffset`) naming the column.
    public init(parsing text: String) throws(TrackModelError) {
        let chars = Array(text.trimmingSpaces)
        guard !chars.isEmpty else {
            throw TrackModelError(.badTimeOffset, "empty duration (expected e.g. 1.5s, 250ms, 2m)", place: "column 1")
        }
        var total: Double = 0
        var i = 0
        var sawUnit = false
        while i < chars.count {
            let numberStart = i
            while i < chars.count, chars[i].isNumber || chars[i] == "." { i += 1 }
            guard i > numberStart, let value = Double(String(chars[numberStart..<i])) else {
                throw TrackModelError(.badTimeOffset, "expected a number in duration '\(text)'", place: "column \(numberStart + 1)")
            }
            let unitStart = i
            while i < chars.count, chars[i].isLetter { i += 1 }
            let unit = String(chars[unitStart..<i])
            let scale: Double
            switch unit {
            case "": scale = 1e9
                guard !sawUnit, i == chars.count else {
                    throw TrackModelError(.badTimeOffset, "missing unit in duration '\(text)' (use ns, us, ms, s, m, h)", place: "column \(unitStart + 1)")
                }
            case "ns": scale = 1
            case "us", "µs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m", "min": scale = 60e9
            case "h": scale = 3600e9
            default:
                throw TrackModelError(.badTimeOffset, "unknown unit '\(unit)' in duration '\(text)' (use ns, us, ms, s, m, h)", place: "column \(unitStart + 1)")
            }
            sawUnit = true
            total += value * scale
        }
        guard total.isFinite, total < 9.2e18 else {
            throw TrackModelError(.badTimeOffset, "duration '\(text)' is too large", place: "column 1")
        }
        nanoseconds = Int64(total.rounded())
    }

    public var seconds: Double { Double(nanoseconds) / 1e9 }
    public var description: String { "\(seconds)s" }
    public static func < (a: TimeOffset, b: TimeOffset) -> Bool { a.nanoseconds < b.nanoseconds }
}

/// Config files may give a number (seconds) or a string with units.
extension TimeOffset: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let seconds = try? c.decode(Double.self) {
            guard seconds.isFinite, seconds >= 0, seconds < 9.2e9 else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "a duration must be a non-negative number of seconds")
            }
            self.init(seconds: seconds)
            return
        }
        let text = try c.decode(String.self)
        do {
            try self.init(parsing: text)
        } catch let e as TrackModelError {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: e.description)
        }
    }
}

extension String {
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return s
    }
}
