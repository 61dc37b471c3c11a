import Pipeline
import Codecs

/// The `filter` condition language: small, safe (no loops, no calls, no side effects, bounded
/// depth), compiled once to a tree and evaluated per frame.
///
/// ```
/// expr    := or
/// or      := and ("||" and)*
/// and     := compare ("&&" compare)*
/// compare := sum (("==" | "!=" | "<" | "<=" | ">" | ">=" | "matches") sum)?
/// sum     := product (("+" | "-") product)*
/// product := unary (("*" | "/" | "%") unary)*
/// unary   := ("!" | "-") unary | primary
/// primary := literal | field | "(" expr ")"
/// field   := identity | track | user_timestamp | time | size | value ("." name | "[" int "]" | "[" string "]")*
/// literal := int | float | "string" | 'string' | true | false | null
/// ```
///
/// Meaning: `time` is the receive time (Unix ns), `size` the payload length, `user_timestamp`
/// null when absent, `value…` the decoded payload (null when missing or not decoded).
/// Numbers compare by value across int and float; values of different types are unequal and
/// unordered (every ordering comparison is false); `/` divides as floats, by zero gives null;
/// `&&`, `||`, `!` and the final result count only `true` as true. `a matches "robot-*"` is a
/// glob (`*` any run, `?` one character).
indirect enum FilterExpression: Sendable {
    case literal(Value)
    case identity
    case track
    case userTimestamp
    case time
    case size
    case value([PathStep])
    case not(FilterExpression)
    case negate(FilterExpression)
    case and(FilterExpression, FilterExpression)
    case or(FilterExpression, FilterExpression)
    case compare(ComparisonOperator, FilterExpression, FilterExpression)
    case arithmetic(ArithmeticOperator, FilterExpression, FilterExpression)
    case matches(FilterExpression, Glob)

    typealias PathStep = ValuePathStep

    enum ComparisonOperator: String, Sendable {
        case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="

        /// Whether two operands whose order is `ordering` (<0, 0, >0) satisfy the operator.
        @inline(__always)
        func holds(_ ordering: Int) -> Bool {
            switch self {
            case .equal: return ordering == 0
            case .notEqual: return ordering != 0
            case .less: return ordering < 0
            case .lessOrEqual: return ordering <= 0
            case .greater: return ordering > 0
            case .greaterOrEqual: return ordering >= 0
            }
        }
    }

    enum ArithmeticOperator: String, Sendable {
        case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%"
    }
}

/// A syntax error in a condition: what and at which column (1-based, in characters).
struct FilterSyntaxError: Error, Sendable, Hashable {
    var message: String
    var column: Int
}

// MARK: - Lexing

struct FilterToken: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case int(Int64), uint(UInt64), float(Double), string(String), name(String), symbol(String), end
    }
    var kind: Kind
    var column: Int
}

enum FilterLexer {
    static let symbols = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "%", "(", ")", ".", "[", "]"]

    static func tokens(_ text: String) throws -> [FilterToken] {
        let chars = Array(text)
        var tokens: [FilterToken] = []
        var i = 0
        while i < chars.count {
            let c = chars[i]
            let column = i + 1
            if c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1; continue }
            if c.isNumber && c.isASCII {
                var j = i
                var isFloat = false
                while j < chars.count, chars[j].isASCII, chars[j].isNumber || chars[j] == "_" { j += 1 }
                if j < chars.count, chars[j] == ".", j + 1 < chars.count, chars[j + 1].isASCII, chars[j + 1].isNumber {
                    isFloat = true
                    j += 1
                    while j < chars.count, chars[j].isASCII, chars[j].isNumber { j += 1 }
                }
                if j < chars.count, chars[j] == "e" || chars[j] == "E" {
                    var k = j + 1
                    if k < chars.count, chars[k] == "+" || chars[k] == "-" { k += 1 }
                    if k < chars.count, chars[k].isASCII, chars[k].isNumber {
                        isFloat = true
                        j = k
                        while j < chars.count, chars[j].isASCII, chars[j].isNumber { j += 1 }
                    }
                }
                let text = String(chars[i..<j]).replacingOccurrences(of: "_", with: "")
                if isFloat {
                    guard let d = Double(text) else { throw FilterSyntaxError(message: "invalid number '\(text)'", column: column) }
                    tokens.append(FilterToken(kind: .float(d), column: column))
                } else if let v = Int64(text) {
                    tokens.append(FilterToken(kind: .int(v), column: column))
                } else if let v = UInt64(text) {
                    tokens.append(FilterToken(kind: .uint(v), column: column))
                } else {
                    throw FilterSyntaxError(message: "number '\(text)' is too large", column: column)
                }
                i = j
                continue
            }
            if c.isLetter || c == "_" {
                var j = i
                while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { j += 1 }
                tokens.append(FilterToken(kind: .name(String(chars[i..<j])), column: column))
                i = j
                continue
            }
            if c == "\"" || c == "'" {
                var j = i + 1
                var s = ""
                var closed = false
                while j < chars.count {
                    let d = chars[j]
                    if d == c { closed = true; j += 1; break }
                    if d == "\\" {
                        guard j + 1 < chars.count else { break }
                        switch chars[j + 1] {
                        case "n": s.append("\n")
                        case "t": s.append("\t")
                        case "\\": s.append("\\")
                        case "\"": s.append("\"")
                        case "'": s.append("'")
                        default: throw FilterSyntaxError(message: "unknown escape '\\\(chars[j + 1])'", column: j + 1)
                        }
                        j += 2
                        continue
                    }
                    s.append(d)
                    j += 1
                }
                guard closed else { throw FilterSyntaxError(message: "unterminated string", column: column) }
                tokens.append(FilterToken(kind: .string(s), column: column))
                i = j
                continue
            }
            if let symbol = symbols.first(where: { sym in
                let s = Array(sym)
                return i + s.count <= chars.count && Array(chars[i..<i + s.count]) == s
            }) {
                tokens.append(FilterToken(kind: .symbol(symbol), column: column))
                i += symbol.count
                continue
            }
            if c == "=" {
                throw FilterSyntaxError(message: "'=' is not an operator; compare with '=='", column: column)
            }
            if c == "&" || c == "|" {
                throw FilterSyntaxError(message: "'\(c)' is not an operator; use '\(c)\(c)'", column: column)
            }
            throw FilterSyntaxError(message: "unexpected character '\(c)'", column: column)
        }
        tokens.append(FilterToken(kind: .end, column: chars.count + 1))
        return tokens
    }
}

// MARK: - Parsing

struct FilterParser {
    var tokens: [FilterToken]
    var position = 0
    var depth = 0
    static let maximumDepth = 64
    /// Height of the tree built so far by the last parse function that returned: evaluation
    /// (and freeing) recurse over it, so it is bounded, chains of `&&` included.
    var lastHeight = 0
    static let maximumHeight = 256
    /// Most tokens a condition may have: a bound on the work per frame.
    static let maximumTokens = 10_000

    /// Most bytes a condition may have, checked before it is even lexed.
    static let maximumBytes = 100_000

    static func parse(_ text: String) throws -> FilterExpression {
        guard text.utf8.count <= maximumBytes else {
            throw FilterSyntaxError(message: "the condition is longer than \(maximumBytes) bytes (\(text.utf8.count))", column: 1)
        }
        let tokens = try FilterLexer.tokens(text)
        guard tokens.count <= maximumTokens + 1 else {
            throw FilterSyntaxError(message: "the condition has more than \(maximumTokens) tokens", column: tokens[maximumTokens].column)
        }
        var parser = FilterParser(tokens: tokens)
        if case .end = parser.peek.kind {
            throw FilterSyntaxError(message: "the condition is empty", column: 1)
        }
        let expression = try parser.parseOr()
        guard case .end = parser.peek.kind else {
            throw FilterSyntaxError(message: "unexpected \(parser.describe(parser.peek)) after the expression", column: parser.peek.column)
        }
        return expression
    }

    var peek: FilterToken { tokens[position] }

    mutating func advance() -> FilterToken {
        defer { if position < tokens.count - 1 { position += 1 } }
        return tokens[position]
    }

    func describe(_ token: FilterToken) -> String {
        switch token.kind {
        case .int(let v): return "number \(v)"
        case .uint(let v): return "number \(v)"
        case .float(let v): return "number \(v)"
        case .string(let s): return "string \"\(s)\""
        case .name(let n): return "'\(n)'"
        case .symbol(let s): return "'\(s)'"
        case .end: return "end of condition"
        }
    }

    func isSymbol(_ s: String) -> Bool {
        if case .symbol(let t) = peek.kind { return t == s }
        return false
    }

    /// Records the height of a node over children of height `children`; throws past the limit
    /// at the current token.
    mutating func node(over children: Int, column: Int) throws {
        lastHeight = children + 1
        guard lastHeight <= Self.maximumHeight else {
            throw FilterSyntaxError(message: "the condition is more than \(Self.maximumHeight) operations deep", column: column)
        }
    }

    mutating func enter() throws {
        depth += 1
        guard depth <= Self.maximumDepth else {
            throw FilterSyntaxError(message: "condition nested too deeply", column: peek.column)
        }
    }

    mutating func parseOr() throws -> FilterExpression {
        var left = try parseAnd()
        var height = lastHeight
        while isSymbol("||") {
            let column = advance().column
            left = .or(left, try parseAnd())
            try node(over: max(height, lastHeight), column: column)
            height = lastHeight
        }
        lastHeight = height
        return left
    }

    mutating func parseAnd() throws -> FilterExpression {
        var left = try parseCompare()
        var height = lastHeight
        while isSymbol("&&") {
            let column = advance().column
            left = .and(left, try parseCompare())
            try node(over: max(height, lastHeight), column: column)
            height = lastHeight
        }
        lastHeight = height
        return left
    }

    mutating func parseCompare() throws -> FilterExpression {
        let left = try parseSum()
        let leftHeight = lastHeight
        if case .symbol(let s) = peek.kind, let op = FilterExpression.ComparisonOperator(rawValue: s) {
            let column = advance().column
            let right = try parseSum()
            try node(over: max(leftHeight, lastHeight), column: column)
            if case .symbol(let next) = peek.kind, FilterExpression.ComparisonOperator(rawValue: next) != nil {
                throw FilterSyntaxError(message: "comparisons do not chain; use '&&'", column: peek.column)
            }
            return .compare(op, left, right)
        }
        if case .name("matches") = peek.kind {
            _ = advance()
            let patternToken = peek
            guard case .string(let pattern) = advance().kind else {
                throw FilterSyntaxError(message: "'matches' needs a quoted glob pattern", column: patternToken.column)
            }
            try node(over: leftHeight, column: patternToken.column)
            return .matches(left, Glob(pattern))
        }
        return left
    }

    mutating func parseSum() throws -> FilterExpression {
        var left = try parseProduct()
        var height = lastHeight
        while case .symbol(let s) = peek.kind, s == "+" || s == "-" {
            let column = advance().column
            left = .arithmetic(s == "+" ? .add : .subtract, left, try parseProduct())
            try node(over: max(height, lastHeight), column: column)
            height = lastHeight
        }
        lastHeight = height
        return left
    }

    mutating func parseProduct() throws -> FilterExpression {
        var left = try parseUnary()
        var height = lastHeight
        while case .symbol(let s) = peek.kind, let op = FilterExpression.ArithmeticOperator(rawValue: s),
              op == .multiply || op == .divide || op == .remainder {
            let column = advance().column
            left = .arithmetic(op, left, try parseUnary())
            try node(over: max(height, lastHeight), column: column)
            height = lastHeight
        }
        lastHeight = height
        return left
    }

    mutating func parseUnary() throws -> FilterExpression {
        try enter()
        defer { depth -= 1 }
        if isSymbol("!") {
            let column = advance().column
            let inner = try parseUnary()
            try node(over: lastHeight, column: column)
            return .not(inner)
        }
        if isSymbol("-") {
            let column = advance().column
            let inner = try parseUnary()
            try node(over: lastHeight, column: column)
            return .negate(inner)
        }
        return try parsePrimary()
    }

    mutating func parsePrimary() throws -> FilterExpression {
        let token = advance()
        // A leaf; a parenthesised expression sets its own height below.
        lastHeight = 1
        switch token.kind {
        case .int(let v): return .literal(.int(v))
        case .uint(let v): return .literal(.uint(v))
        case .float(let v): return .literal(.double(v))
        case .string(let s): return .literal(.string(s))
        case .symbol("("):
            try enter()
            defer { depth -= 1 }
            let inner = try parseOr()
            guard isSymbol(")") else {
                throw FilterSyntaxError(message: "expected ')' to close the '(' at column \(token.column)", column: peek.column)
            }
            _ = advance()
            return inner
        case .name(let name):
            switch name {
            case "true": return .literal(.bool(true))
            case "false": return .literal(.bool(false))
            case "null": return .literal(.null)
            case "identity": return .identity
            case "track": return .track
            case "user_timestamp": return .userTimestamp
            case "time": return .time
            case "size": return .size
            case "value": return .value(try parsePath())
            default:
                throw FilterSyntaxError(
                    message: "unknown name '\(name)' (fields: identity, track, user_timestamp, time, size, value…)",
                    column: token.column)
            }
        case .end:
            throw FilterSyntaxError(message: "the condition ends where a value was expected", column: token.column)
        default:
            throw FilterSyntaxError(message: "expected a value, found \(describe(token))", column: token.column)
        }
    }

    mutating func parsePath() throws -> [FilterExpression.PathStep] {
        var steps: [FilterExpression.PathStep] = []
        while true {
            if isSymbol(".") {
                _ = advance()
                let token = advance()
                guard case .name(let member) = token.kind else {
                    throw FilterSyntaxError(message: "expected a field name after '.'", column: token.column)
                }
                steps.append(.member(member))
            } else if isSymbol("[") {
                _ = advance()
                let token = advance()
                switch token.kind {
                case .int(let i) where i >= 0 && i <= Int64(Int32.max): steps.append(.index(Int(i)))
                case .string(let s): steps.append(.member(s))
                default:
                    throw FilterSyntaxError(message: "expected a list index or a quoted field name in '[ ]'", column: token.column)
                }
                guard isSymbol("]") else { throw FilterSyntaxError(message: "expected ']'", column: peek.column) }
                _ = advance()
            } else {
                return steps
            }
        }
    }
}

// MARK: - Evaluation

extension FilterExpression {
    /// Every `value…` path the expression reads (a bare `value` is the empty path: all of it).
    var valuePaths: Set<[PathStep]> {
        switch self {
        case .literal, .identity, .track, .userTimestamp, .time, .size: return []
        case .value(let steps): return [steps]
        case .not(let e), .negate(let e), .matches(let e, _): return e.valuePaths
        case .and(let a, let b), .or(let a, let b), .compare(_, let a, let b), .arithmetic(_, let a, let b):
            return a.valuePaths.union(b.valuePaths)
        }
    }

    /// Whether the frame passes: only a `true` result does.
    func accepts(_ frame: Frame) -> Bool {
        if case .bool(true) = evaluate(frame) { return true }
        return false
    }

    func evaluate(_ frame: Frame) -> Value {
        switch self {
        case .literal(let v): return v
        case .identity: return .string(frame.track.identity)
        case .track: return .string(frame.track.name)
        case .userTimestamp: return frame.userTimestamp.map { $0 <= UInt64(Int64.max) ? .int(Int64($0)) : .uint($0) } ?? .null
        case .time: return .int(frame.receiveTimeNs)
        case .size: return .int(Int64(frame.payload.count))
        case .value(let steps):
            return frame.value?.at(steps) ?? .null
        case .not(let inner):
            if case .bool(true) = inner.evaluate(frame) { return .bool(false) }
            return .bool(true)
        case .negate(let inner):
            switch inner.evaluate(frame) {
            case .int(let v): return v == Int64.min ? .double(-Double(v)) : .int(-v)
            case .uint(let v): return v <= UInt64(Int64.max) ? .int(-Int64(v)) : .double(-Double(v))
            case .double(let v): return .double(-v)
            default: return .null
            }
        case .and(let a, let b):
            guard case .bool(true) = a.evaluate(frame) else { return .bool(false) }
            if case .bool(true) = b.evaluate(frame) { return .bool(true) }
            return .bool(false)
        case .or(let a, let b):
            if case .bool(true) = a.evaluate(frame) { return .bool(true) }
            if case .bool(true) = b.evaluate(frame) { return .bool(true) }
            return .bool(false)
        case .compare(let op, let a, let b):
            return .bool(Self.compare(op, a.evaluate(frame), b.evaluate(frame)))
        case .arithmetic(let op, let a, let b):
            return Self.arithmetic(op, a.evaluate(frame), b.evaluate(frame))
        case .matches(let subject, let glob):
            guard case .string(let s) = subject.evaluate(frame) else { return .bool(false) }
            return .bool(glob.matches(s))
        }
    }

    /// A number in a form both sides can be compared in exactly where possible.
    enum Number {
        case int(Int64), uint(UInt64), double(Double)
        init?(_ v: Value) {
            switch v {
            case .int(let x): self = .int(x)
            case .uint(let x): self = .uint(x)
            case .double(let x): self = .double(x)
            default: return nil
            }
        }
        var double: Double {
            switch self {
            case .int(let x): return Double(x)
            case .uint(let x): return Double(x)
            case .double(let x): return x
            }
        }
    }

    /// -1, 0, 1, or nil when unordered (NaN).
    static func order(_ a: Number, _ b: Number) -> Int? {
        switch (a, b) {
        case let (.int(x), .int(y)): return x < y ? -1 : (x > y ? 1 : 0)
        case let (.uint(x), .uint(y)): return x < y ? -1 : (x > y ? 1 : 0)
        case let (.int(x), .uint(y)): return x < 0 ? -1 : order(.uint(UInt64(x)), .uint(y))
        case let (.uint(x), .int(y)): return y < 0 ? 1 : order(.uint(x), .uint(UInt64(y)))
        default:
            let x = a.double, y = b.double
            if x.isNaN || y.isNaN { return nil }
            return x < y ? -1 : (x > y ? 1 : 0)
        }
    }

    static func compare(_ op: ComparisonOperator, _ a: Value, _ b: Value) -> Bool {
        var ordering: Int?
        if let x = Number(a), let y = Number(b) {
            ordering = order(x, y)
        } else {
            switch (a, b) {
            case let (.string(x), .string(y)): ordering = x < y ? -1 : (x == y ? 0 : 1)
            case let (.bool(x), .bool(y)):
                if op == .equal { return x == y }
                if op == .notEqual { return x != y }
                return false
            default:
                // Different types, null, lists, objects: equal only when identical values.
                if op == .equal { return a == b }
                if op == .notEqual { return a != b }
                return false
            }
        }
        guard let ordering else { return op == .notEqual }
        return op.holds(ordering)
    }

    static func arithmetic(_ op: ArithmeticOperator, _ a: Value, _ b: Value) -> Value {
        if op == .add, case .string(let x) = a, case .string(let y) = b { return .string(x + y) }
        guard let x = Number(a), let y = Number(b) else { return .null }
        // Integers stay exact while they fit in Int64; otherwise the result is a double.
        func asInt(_ n: Number) -> Int64? {
            switch n {
            case .int(let v): return v
            case .uint(let v): return v <= UInt64(Int64.max) ? Int64(v) : nil
            case .double: return nil
            }
        }
        if op != .divide, let i = asInt(x), let j = asInt(y) {
            switch op {
            case .add:
                let (r, o) = i.addingReportingOverflow(j)
                if !o { return .int(r) }
            case .subtract:
                let (r, o) = i.subtractingReportingOverflow(j)
                if !o { return .int(r) }
            case .multiply:
                let (r, o) = i.multipliedReportingOverflow(by: j)
                if !o { return .int(r) }
            case .remainder:
                if j == 0 { return .null }
                let (r, o) = i.remainderReportingOverflow(dividingBy: j)
                return o ? .int(0) : .int(r)
            case .divide: break
            }
        }
        let p = x.double, q = y.double
        switch op {
        case .add: return .double(p + q)
        case .subtract: return .double(p - q)
        case .multiply: return .double(p * q)
        case .divide: return q == 0 ? .null : .double(p / q)
        case .remainder: return q == 0 ? .null : .double(p.truncatingRemainder(dividingBy: q))
        }
    }
}
