/// A decoded payload: the tree JSON, CBOR and MessagePack decode into, which `filter`
/// expressions address (`value.accel.z`) and JSON lines export writes as `"value"`.
///
/// Not `indirect`: arrays already keep their elements on the heap, and boxing every scalar cost
/// one allocation per decoded number (the decode stage's main cost on telemetry frames).
public enum Value: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    case array([Value])
    /// Keys keep their order of appearance.
    case object([(key: String, value: Value)])

    public static func == (a: Value, b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.uint(x), .uint(y)): return x == y
        case let (.double(x), .double(y)): return x == y || (x.isNaN && y.isNaN)
        case let (.string(x), .string(y)): return x == y
        case let (.bytes(x), .bytes(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    public func hash(into h: inout Hasher) {
        switch self {
        case .null: h.combine(0)
        case .bool(let v): h.combine(v)
        case .int(let v): h.combine(v)
        case .uint(let v): h.combine(v)
        case .double(let v): h.combine(v)
        case .string(let v): h.combine(v)
        case .bytes(let v): h.combine(v)
        case .array(let v): h.combine(v)
        case .object(let v): for (k, x) in v { h.combine(k); h.combine(x) }
        }
    }

    /// The member named `key` of an object, or nil.
    public subscript(key: String) -> Value? {
        guard case .object(let members) = self else { return nil }
        // Keys are compared in place; only the match is copied out.
        return members.withUnsafeBufferPointer { members in
            for i in members.indices where members[i].key == key { return members[i].value }
            return nil
        }
    }
}
