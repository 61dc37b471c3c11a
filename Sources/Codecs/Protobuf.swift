/// Decodes Protocol Buffers messages of one type, known only at run time from a descriptor set
/// (`ProtobufSchema`), into `Value`: the tree `filter` addresses (`value.pose.position.x`).
///
/// Mapping (close to the proto3 JSON mapping, protobuf.dev/programming-guides/json, but keeping
/// field names as declared and numbers as numbers):
/// - a message → `.object`, fields in declaration order. Absent scalars take their default
///   (proto3: zero, empty; proto2: `[default = …]` or zero), absent messages are `.null`, absent
///   oneof members (proto3 `optional` included) are left out.
/// - integers → `.int` (`.uint` for 64-bit unsigned values above Int64.max), float and double →
///   `.double`, bool → `.bool`, string → `.string`, bytes → `.bytes`, enum → `.string` of the
///   value's name (`.int` for a number the enum does not declare).
/// - repeated → `.array` (packed and unpacked encodings both accepted); map → `.object` with
///   keys as text, later entries replacing earlier ones.
/// - well-known types as values: `Timestamp` → RFC 3339 text (`2026-12-06T21:00:00.5Z`),
///   `Duration` → `"1.5s"`, wrappers (`DoubleValue`…) → their value, `Struct`/`Value`/`ListValue`
///   → the JSON-like value they carry, `FieldMask` → comma-separated paths, `Empty` → `{}`, `Any`
///   → `{"@type": url, "value": bytes}`.
/// - unknown fields and fields whose wire type does not match the schema are skipped, as
///   protobuf parsers do; a non-repeated field seen twice keeps the last value.
public struct ProtobufDecoder: Sendable {
    /// Every message type of the set, compiled for decoding: fields as class instances (one
    /// reference per lookup instead of copying names and tables) and a direct table from
    /// small field numbers to fields.
    let messages: [CompiledMessage]
    let root: Int

    /// The full name of the decoded message type.
    public let messageName: String

    init(schema: ProtobufSchema, root: Int) {
        self.root = root
        self.messageName = schema.messages[root].fullName
        self.messages = schema.messages.map { CompiledMessage($0, in: schema) }
    }

    public func decode(_ bytes: [UInt8]) throws(CodecError) -> Value {
        try bytes.withUnsafeBufferPointer { (buffer) throws(CodecError) -> Value in
            var r = ProtobufWireReader(bytes: buffer)
            return try message(root, &r, group: nil, depth: 0)
        }
    }

    private func message(_ m: Int, _ r: inout ProtobufWireReader, group: UInt32?, depth: Int) throws(CodecError) -> Value {
        guard depth < maximumNestingDepth else {
            throw CodecError("protobuf messages nested deeper than \(maximumNestingDepth)", at: r.index)
        }
        let type = messages[m]
        var singles = [Value?](repeating: nil, count: type.fields.count)
        // Repeated fields grow in place (`lists[i].append`), so each element costs O(1).
        var lists: [[Value]] = type.hasRepeated ? [[Value]](repeating: [], count: type.fields.count) : []
        while true {
            if r.isAtEnd {
                if let group { throw CodecError("protobuf group \(group) has no end tag", at: r.index) }
                break
            }
            let tagStart = r.index
            let (number, wire) = try r.tag()
            if wire == .endGroup {
                guard let group, group == number else {
                    throw CodecError("protobuf end-group tag for field \(number) without a start", at: tagStart)
                }
                break
            }
            guard let i = type.index(of: number) else {
                try r.skip(wire, field: number)
                continue
            }
            let field = type.fields[i]
            if field.isRepeated && wire == .lengthDelimited && field.isPackable {
                let range = try r.lengthDelimited()
                var p = ProtobufWireReader(bytes: r.bytes, from: range.lowerBound, to: range.upperBound)
                while !p.isAtEnd { lists[i].append(try scalar(field, &p)) }
                continue
            }
            guard wire == field.wire else {
                try r.skip(wire, field: number)
                continue
            }
            let value: Value
            switch field.type {
            case .message:
                let range = try r.lengthDelimited()
                var sub = ProtobufWireReader(bytes: r.bytes, from: range.lowerBound, to: range.upperBound)
                value = try message(field.message, &sub, group: nil, depth: depth + 1)
            case .group:
                value = try message(field.message, &r, group: number, depth: depth + 1)
            default:
                value = try scalar(field, &r)
            }
            if field.isRepeated {
                lists[i].append(value)
            } else {
                singles[i] = value
            }
        }

        var members: [(key: String, value: Value)] = []
        members.reserveCapacity(type.fields.count)
        for (i, field) in type.fields.enumerated() {
            if field.isRepeated {
                members.append((field.name, field.isMap ? mapObject(lists[i]) : .array(lists[i])))
            } else if let v = singles[i] {
                members.append((field.name, v))
            } else if !field.inOneof {
                members.append((field.name, field.defaultValue))
            }
        }
        if let known = type.wellKnown { return known.value(of: members) }
        return .object(members)
    }

    private func scalar(_ field: CompiledField, _ r: inout ProtobufWireReader) throws(CodecError) -> Value {
        switch field.type {
        case .int64: return .int(Int64(bitPattern: try r.varint()))
        case .uint64: return unsigned(try r.varint())
        case .int32: return .int(Int64(Int32(truncatingIfNeeded: try r.varint())))
        case .uint32: return .int(Int64(UInt32(truncatingIfNeeded: try r.varint())))
        case .sint32:
            let v = UInt32(truncatingIfNeeded: try r.varint())
            return .int(Int64(Int32(bitPattern: (v >> 1) ^ (0 &- (v & 1)))))
        case .sint64:
            let v = try r.varint()
            return .int(Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1))))
        case .bool: return .bool(try r.varint() != 0)
        case .enumeration:
            let number = Int32(truncatingIfNeeded: try r.varint())
            if let name = field.enumNames[number] { return .string(name) }
            return .int(Int64(number))
        case .fixed32: return .int(Int64(try r.fixed32()))
        case .sfixed32: return .int(Int64(Int32(bitPattern: try r.fixed32())))
        case .float: return .double(Double(Float(bitPattern: try r.fixed32())))
        case .fixed64: return unsigned(try r.fixed64())
        case .sfixed64: return .int(Int64(bitPattern: try r.fixed64()))
        case .double: return .double(Double(bitPattern: try r.fixed64()))
        case .string:
            let start = r.index
            let range = try r.lengthDelimited()
            if let text = r.text(range) { return .string(text) }
            // proto3 requires UTF-8 (a parse error there); proto2 strings may hold any bytes.
            if field.requiresUTF8 {
                throw CodecError("protobuf string field '\(field.name)' is not valid UTF-8", at: start)
            }
            return .bytes(r.slice(range))
        case .bytes: return .bytes(r.slice(try r.lengthDelimited()))
        case .message, .group:
            throw CodecError("protobuf field '\(field.name)' is a message", at: r.index)
        }
    }

    private func unsigned(_ v: UInt64) -> Value { v <= UInt64(Int64.max) ? .int(Int64(v)) : .uint(v) }

    /// Map entries (`{key, value}` objects) as one object keyed by the key's text.
    private func mapObject(_ entries: [Value]) -> Value {
        var members: [(key: String, value: Value)] = []
        var position: [String: Int] = [:]
        for entry in entries {
            guard case .object(let kv) = entry else { continue }
            var key = ""
            var value = Value.null
            for (k, v) in kv {
                if k == "key" { key = Self.keyText(v) } else if k == "value" { value = v }
            }
            if let at = position[key] {
                members[at].value = value
            } else {
                position[key] = members.count
                members.append((key, value))
            }
        }
        return .object(members)
    }

    static func keyText(_ key: Value) -> String {
        switch key {
        case .string(let s): return s
        case .int(let v): return String(v)
        case .uint(let v): return String(v)
        case .bool(let v): return v ? "true" : "false"
        default: return JSONText.text(key)
        }
    }
}

/// A message type as the decoder walks it (immutable once built, hence shareable).
final class CompiledMessage: @unchecked Sendable {
    let fields: [CompiledField]
    /// Field number → index + 1 for numbers below `dense.count` (0: not declared); larger
    /// numbers are looked up in `sparse`.
    let dense: [Int32]
    let sparse: [UInt32: Int]
    let wellKnown: ProtobufWellKnown?
    let hasRepeated: Bool

    init(_ message: ProtobufSchema.Message, in schema: ProtobufSchema) {
        fields = message.fields.map { CompiledField($0, in: schema, proto3: message.isProto3) }
        hasRepeated = message.fields.contains { $0.isRepeated }
        let largest = message.fields.map(\.number).max() ?? 0
        // Numbers 1…63 cover almost every real message; the cap keeps a hostile set of many
        // types with large field numbers from costing more than 256 bytes per type here.
        var dense = [Int32](repeating: 0, count: Int(min(largest, 63)) + 1)
        var sparse: [UInt32: Int] = [:]
        for (i, f) in message.fields.enumerated() {
            if f.number < UInt32(dense.count) { dense[Int(f.number)] = Int32(i + 1) } else { sparse[f.number] = i }
        }
        self.dense = dense
        self.sparse = sparse
        wellKnown = message.wellKnown
    }

    @inline(__always) func index(of number: UInt32) -> Int? {
        if number < UInt32(dense.count) {
            let i = dense[Int(number)]
            return i == 0 ? nil : Int(i - 1)
        }
        return sparse[number]
    }
}

final class CompiledField: @unchecked Sendable {
    let name: String
    let type: ProtobufSchema.FieldType
    let wire: ProtobufWireReader.WireType
    let isRepeated: Bool
    let isMap: Bool
    let isPackable: Bool
    let inOneof: Bool
    let message: Int
    let enumNames: [Int32: String]
    let defaultValue: Value
    /// proto3 strings must be UTF-8; proto2 strings may hold any bytes.
    let requiresUTF8: Bool

    init(_ f: ProtobufSchema.Field, in schema: ProtobufSchema, proto3: Bool) {
        name = f.name
        type = f.type
        wire = f.type.wireType
        isRepeated = f.isRepeated
        isMap = f.isMap
        isPackable = f.type.isPackable
        inOneof = f.oneof != nil
        message = f.message
        enumNames = f.enumeration >= 0 ? schema.enumerations[f.enumeration].names : [:]
        defaultValue = f.defaultValue
        requiresUTF8 = proto3
    }
}

extension ProtobufSchema.FieldType {
    var wireType: ProtobufWireReader.WireType {
        switch self {
        case .int64, .uint64, .int32, .uint32, .sint32, .sint64, .bool, .enumeration: return .varint
        case .fixed64, .sfixed64, .double: return .fixed64
        case .fixed32, .sfixed32, .float: return .fixed32
        case .string, .bytes, .message: return .lengthDelimited
        case .group: return .startGroup
        }
    }

    /// Scalars other than strings and bytes may come packed into one length-delimited run.
    var isPackable: Bool { wireType != .lengthDelimited && wireType != .startGroup }
}

/// The google.protobuf well-known types decoded as the values they stand for.
enum ProtobufWellKnown: Sendable {
    case timestamp, duration, wrapper, structure, value, list, fieldMask, empty, any

    init?(fullName: String) {
        switch fullName {
        case "google.protobuf.Timestamp": self = .timestamp
        case "google.protobuf.Duration": self = .duration
        case "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
             "google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
             "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue":
            self = .wrapper
        case "google.protobuf.Struct": self = .structure
        case "google.protobuf.Value": self = .value
        case "google.protobuf.ListValue": self = .list
        case "google.protobuf.FieldMask": self = .fieldMask
        case "google.protobuf.Empty": self = .empty
        case "google.protobuf.Any": self = .any
        default: return nil
        }
    }

    func value(of members: [(key: String, value: Value)]) -> Value {
        func member(_ name: String) -> Value? { members.first(where: { $0.key == name })?.value }
        func integer(_ name: String) -> Int64 {
            if case .int(let v)? = member(name) { return v }
            return 0
        }
        switch self {
        case .timestamp: return .string(Self.rfc3339(seconds: integer("seconds"), nanos: integer("nanos")))
        case .duration: return .string(Self.duration(seconds: integer("seconds"), nanos: integer("nanos")))
        case .wrapper: return member("value") ?? .null
        case .structure: return member("fields") ?? .object([])
        case .list: return member("values") ?? .array([])
        case .value:
            // The one member of the `kind` oneof that is set; `null_value` is the enum NULL_VALUE.
            for (key, v) in members where key != "null_value" { return v }
            return .null
        case .fieldMask:
            if case .array(let paths)? = member("paths") {
                return .string(paths.compactMap { if case .string(let p) = $0 { return p } else { return nil } }.joined(separator: ","))
            }
            return .string("")
        case .empty: return .object([])
        case .any: return .object([("@type", member("type_url") ?? .string("")), ("value", member("value") ?? .bytes([]))])
        }
    }

    /// RFC 3339 in UTC with 0, 3, 6 or 9 fraction digits, as the proto3 JSON mapping writes it.
    static func rfc3339(seconds: Int64, nanos: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : -((-seconds + 86_399) / 86_400)
        let secondOfDay = seconds - days * 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant, "chrono-compatible low-level date algorithms").
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        // Written as bytes: string interpolation cost more than the decoding of a whole message.
        var out: [UInt8] = []
        out.reserveCapacity(32)
        func digits(_ v: Int64, _ width: Int) {
            var v = v
            if v < 0 { out.append(UInt8(ascii: "-")); v = -v }
            var tmp: [UInt8] = []
            repeat { tmp.append(UInt8(48 + v % 10)); v /= 10 } while v > 0
            for _ in tmp.count..<max(width, tmp.count) { out.append(48) }
            out.append(contentsOf: tmp.reversed())
        }
        digits(year, 4); out.append(UInt8(ascii: "-"))
        digits(month, 2); out.append(UInt8(ascii: "-"))
        digits(day, 2); out.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3600, 2); out.append(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, 2); out.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2)
        if nanos > 0 && nanos < 1_000_000_000 {
            out.append(UInt8(ascii: "."))
            if nanos % 1_000_000 == 0 { digits(nanos / 1_000_000, 3) } else if nanos % 1000 == 0 { digits(nanos / 1000, 6) } else { digits(nanos, 9) }
        }
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    static func duration(seconds: Int64, nanos: Int64) -> String {
        let negative = seconds < 0 || nanos < 0
        return (negative ? "-" : "") + String(seconds.magnitude) + fraction(Int64(nanos.magnitude)) + "s"
    }

    private static func fraction(_ nanos: Int64) -> String {
        guard nanos > 0 && nanos < 1_000_000_000 else { return "" }
        var digits = String(nanos)
        digits = String(repeating: "0", count: 9 - digits.count) + digits
        if nanos % 1_000_000 == 0 { return "." + digits.prefix(3) }
        if nanos % 1000 == 0 { return "." + digits.prefix(6) }
        return "." + digits
    }
}
