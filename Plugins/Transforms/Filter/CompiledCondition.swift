import Pipeline
import Codecs

/// A `filter` condition compiled once into closures, so that a frame is tested without walking
/// the expression tree: `&&`, `||` and `!` become boolean closures, and the usual comparisons
/// (a `value…` path or a frame field against a number literal, `track`/`identity` equal or not
/// to a string literal) compare the field directly instead of building a `Value` for each side.
/// Every other shape falls back to `FilterExpression.evaluate`. Results are those of
/// `FilterExpression.accepts` (the tests compare both over the same frames).
struct CompiledCondition: Sendable {
    typealias Predicate = @Sendable (Frame) -> Bool
    typealias Evaluator = @Sendable (Frame) -> Value

    let accepts: Predicate

    init(_ expression: FilterExpression) {
        accepts = Self.predicate(expression)
    }

    /// True exactly when `expression.evaluate(frame)` is `.bool(true)`.
    static func predicate(_ expression: FilterExpression) -> Predicate {
        switch expression {
        case .and(let a, let b):
            let p = predicate(a), q = predicate(b)
            return { p($0) && q($0) }
        case .or(let a, let b):
            let p = predicate(a), q = predicate(b)
            return { p($0) || q($0) }
        case .not(let inner):
            let p = predicate(inner)
            return { !p($0) }
        case .compare(let op, let a, let b):
            return comparison(op, a, b)
        default:
            let e = evaluator(expression)
            return { frame in
                if case .bool(true) = e(frame) { return true }
                return false
            }
        }
    }

    /// `FilterExpression.compare(op, a, b)` as a predicate.
    static func comparison(_ op: FilterExpression.ComparisonOperator, _ a: FilterExpression, _ b: FilterExpression) -> Predicate {
        switch (a, b) {
        // `track`/`identity` == or != a string needs only string equality; an ordering
        // comparison of strings takes the general path below.
        case (.track, .literal(.string(let s))) where op == .equal || op == .notEqual:
            let equal = op == .equal
            return { ($0.track.name == s) == equal }
        case (.identity, .literal(.string(let s))) where op == .equal || op == .notEqual:
            let equal = op == .equal
            return { ($0.track.identity == s) == equal }
        case (_, .literal(let literal)):
            guard let y = FilterExpression.Number(literal) else { break }
            let e = evaluator(a)
            return { frame in
                let v = e(frame)
                guard let x = FilterExpression.Number(v) else { return FilterExpression.compare(op, v, literal) }
                guard let ordering = FilterExpression.order(x, y) else { return op == .notEqual }
                return op.holds(ordering)
            }
        default:
            break
        }
        let e = evaluator(a), f = evaluator(b)
        return { FilterExpression.compare(op, e($0), f($0)) }
    }

    /// `expression.evaluate(frame)` as a closure; paths into the value go through `Value.at`,
    /// which is inlinable so it is specialised here.
    static func evaluator(_ expression: FilterExpression) -> Evaluator {
        switch expression {
        case .literal(let v): return { _ in v }
        case .time: return { .int($0.receiveTimeNs) }
        case .size: return { .int(Int64($0.payload.count)) }
        case .value(let steps):
            return { $0.value?.at(steps) ?? .null }
        default:
            return { expression.evaluate($0) }
        }
    }
}
