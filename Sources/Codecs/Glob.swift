/// A glob over text: `*` any run of characters (also empty), `?` exactly one, a backslash makes
/// the next character literal; everything else is literal. `filter`'s `matches` and the
/// `IDENTITY/NAME` halves of track globs both match through this one type.
public struct Glob: Sendable, Hashable {
    public enum Token: Sendable, Hashable {
        case literal(Character)
        /// `*`
        case any
        /// `?`
        case one
    }

    public let pattern: String
    public let tokens: [Token]

    /// Parses `pattern`; a lone backslash at the end stands for itself.
    public init(_ pattern: String) {
        var tokens: [Token] = []
        var escaping = false
        for ch in pattern {
            if escaping {
                tokens.append(.literal(ch))
                escaping = false
                continue
            }
            switch ch {
            case "\\": escaping = true
            case "*": tokens.append(.any)
            case "?": tokens.append(.one)
            default: tokens.append(.literal(ch))
            }
        }
        if escaping { tokens.append(.literal("\\")) }
        self.init(tokens: tokens, pattern: pattern)
    }

    /// A glob already split into tokens (`pattern` is what it was written as).
    public init(tokens: [Token], pattern: String) {
        self.pattern = pattern
        self.tokens = tokens
    }

    public func matches(_ text: String) -> Bool { matches(characters: Array(text)) }

    /// Iterative matching with one backtrack point (the last `*`): linear in practice, never
    /// exponential, and no recursion on hostile patterns.
    public func matches(characters text: [Character]) -> Bool {
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
