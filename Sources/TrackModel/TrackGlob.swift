import Codecs

/// A track pattern `IDENTITY/NAME` where `*` matches any run of characters (none included) and
/// `?` exactly one, within its half: `robot-*/imu`, `*/cam?`, `*/*`. A backslash makes the next
/// character literal (`a\*b/x`, or `\/` for a slash inside an identity).
///
/// Used by `trackbag export --tracks`, `record --tracks`, and the recording source's `tracks`.
public struct TrackGlob: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    let identity: Glob
    let name: Glob

    /// Parses `pattern`; a bad one throws `TrackModelError` (`.badGlob`) whose place is the
    /// 1-based column of the problem.
    public init(_ pattern: String) throws(TrackModelError) {
        self.pattern = pattern
        guard !pattern.isEmpty else {
            throw TrackModelError(.badGlob, "empty track glob (expected IDENTITY/NAME, e.g. robot-*/imu)", place: "glob column 1")
        }
        var halves: [[Glob.Token]] = [[]]
        var column = 0
        var slashColumn = 0
        var escaping = false
        for ch in pattern {
            column += 1
            if escaping {
                halves[halves.count - 1].append(.literal(ch))
                escaping = false
                continue
            }
            switch ch {
            case "\\": escaping = true
            case "*": halves[halves.count - 1].append(.any)
            case "?": halves[halves.count - 1].append(.one)
            case "/":
                guard halves.count == 1 else {
                    throw TrackModelError(.badGlob, "second '/' in track glob '\(pattern)' (escape it as \\/ if it is part of a name)",
                                          place: "glob column \(column)")
                }
                slashColumn = column
                halves.append([])
            default: halves[halves.count - 1].append(.literal(ch))
            }
        }
        if escaping {
            throw TrackModelError(.badGlob, "track glob '\(pattern)' ends with a lone backslash", place: "glob column \(column)")
        }
        guard halves.count == 2 else {
            throw TrackModelError(.badGlob, "track glob '\(pattern)' has no '/' (expected IDENTITY/NAME, e.g. robot-*/imu or */imu)",
                                  place: "glob column \(column + 1)")
        }
        if halves[0].isEmpty {
            throw TrackModelError(.badGlob, "track glob '\(pattern)' has an empty identity (use * for any)", place: "glob column 1")
        }
        if halves[1].isEmpty {
            throw TrackModelError(.badGlob, "track glob '\(pattern)' has an empty track name (use * for any)",
                                  place: "glob column \(slashColumn + 1)")
        }
        let slash = pattern.index(pattern.startIndex, offsetBy: slashColumn - 1)
        identity = Glob(tokens: halves[0], pattern: String(pattern[..<slash]))
        name = Glob(tokens: halves[1], pattern: String(pattern[pattern.index(after: slash)...]))
    }

    public var description: String { pattern }

    public func matches(identity: String, name: String) -> Bool {
        self.identity.matches(identity) && self.name.matches(name)
    }

    public func matches(_ key: TrackKey) -> Bool { matches(identity: key.identity, name: key.name) }
}

extension Sequence where Element == TrackGlob {
    /// True when any glob matches (an empty list matches nothing; callers treat "no filter"
    /// separately).
    public func anyMatches(_ key: TrackKey) -> Bool { contains { $0.matches(key) } }
}
