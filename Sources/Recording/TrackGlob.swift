/// A track pattern `IDENTITY/NAME` where `*` matches any run of characters (none included) and
/// `?` exactly one, within its half: `robot-*/imu`, `*/cam?`, `*/*`. A backslash makes the next
/// character literal (`a\*b/x`, or `\/` for a slash inside an identity).
///
/// Used by `trackbag export --tracks`, `record --tracks`, and the recording source's `tracks`.
public struct TrackGlob: Sendable, Hashable, CustomStringConvertible {
    enum Token: Sendable, Hashable {
        case literal(Character)
        case any      // *
        case one      // ?
    }

    public let pattern: String
    let identity: [Token]
    let name: [Token]

    /// Parses `pattern`; a bad one throws `RecordingError` (`.badGlob`) whose place is the
    /// 1-based column of the problem.
    public init(_ pattern: String) throws {
        self.pattern = pattern
        guard !pattern.isEmpty else {
            throw RecordingError(.badGlob, "empty track glob (expected IDENTITY/NAME, e.g. robot-*/imu)", place: "glob column 1")
        }
        var halves: [[Token]] = [[]]
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
                    throw RecordingError(.badGlob, "second '/' in track glob '\(pattern)' (escape it as \\/ if it is part of a name)",
                                         place: "glob column \(column)")
                }
                slashColumn = column
                halves.append([])
            default: halves[halves.count - 1].append(.literal(ch))
            }
        }
        if escaping {
            throw RecordingError(.badGlob, "track glob '\(pattern)' ends with a lone backslash", place: "glob column \(column)")
        }
        guard halves.count == 2 else {
            throw RecordingError(.badGlob, "track glob '\(pattern)' has no '/' (expected IDENTITY/NAME, e.g. robot-*/imu or */imu)",
                                 place: "glob column \(column + 1)")
        }
        if halves[0].isEmpty {
            throw RecordingError(.badGlob, "track glob '\(pattern)' has an empty identity (use * for any)", place: "glob column 1")
        }
        if halves[1].isEmpty {
            throw RecordingError(.badGlob, "track glob '\(pattern)' has an empty track name (use * for any)",
                                 place: "glob column \(slashColumn + 1)")
        }
        identity = halves[0]
        name = halves[1]
    }

    public var description: String { pattern }

    public func matches(identity: String, name: String) -> Bool {
        Self.match(self.identity, Array(identity)) && Self.match(self.name, Array(name))
    }

    public func matches(_ key: TrackKey) -> Bool { matches(identity: key.identity, name: key.name) }

    /// Iterative wildcard matching with one backtrack point (the last `*`): linear in practice,
    /// never exponential.
    static func match(_ tokens: [Token], _ text: [Character]) -> Bool {
        var t = 0, s = 0
        var starT = -1, starS = 0
        while s < text.count {
            if t < tokens.count {
                switch tokens[t] {
                case .any:
                    starT = t
                    starS = s
                    t += 1
                    continue
                case .one:
                    t += 1; s += 1
                    continue
                case .literal(let c) where c == text[s]:
                    t += 1; s += 1
                    continue
                default: break
                }
            }
            guard starT >= 0 else { return false }
            t = starT + 1
            starS += 1
            s = starS
        }
        while t < tokens.count, tokens[t] == .any { t += 1 }
        return t == tokens.count
    }
}

extension Sequence where Element == TrackGlob {
    /// True when any glob matches (an empty list matches nothing; callers treat "no filter"
    /// separately).
    public func anyMatches(_ key: TrackKey) -> Bool { contains { $0.matches(key) } }
}
