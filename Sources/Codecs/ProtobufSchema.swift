/// The message types of a `FileDescriptorSet` (google/protobuf/descriptor.proto), the form MCAP's
/// `protobuf` schema encoding stores and `protoc --descriptor_set_out --include_imports` writes.
///
/// Read with our own wire reader, not generated code: only the fields decoding needs are kept
/// (names, numbers, labels, types, type names, defaults, oneofs, `map_entry`), and unknown
/// fields of newer descriptor versions are skipped, as the format requires.
public struct ProtobufSchema: Sendable {
    enum FieldType: UInt8 {
        case double = 1, float, int64, uint64, int32, fixed64, fixed32, bool, string, group, message, bytes,
             uint32, enumeration, sfixed32, sfixed64, sint32, sint64
    }

    struct Field: Sendable {
        var name: String
        var number: UInt32
        var type: FieldType
        var isRepeated: Bool
        /// `.pkg.Type` as written in the descriptor, resolved into `message`/`enumeration`.
        var typeName: String
        var message: Int = -1
        var enumeration: Int = -1
        var oneof: Int?
        var proto3Optional: Bool
        /// proto2 `[default = …]` as text (descriptor.proto: C-escaped for bytes).
        var defaultText: String?
        /// Index of the message that declares the field.
        var owner: Int
        /// What an absent field reads as (set by `link`).
        var defaultValue: Value = .null
        /// A repeated field of a `map_entry` message type: a `map<K, V>` field.
        var isMap = false
    }

    struct Message: Sendable {
        var fullName: String
        var fields: [Field] = []
        /// Field number → index into `fields`, for tags in any order.
        var fieldIndex: [UInt32: Int] = [:]
        var isMapEntry = false
        /// proto3 scalars have no presence: absent means the zero value. proto2 fields
        /// absent take their declared default.
        var isProto3 = false
        var wellKnown: ProtobufWellKnown?
    }

    struct Enumeration: Sendable {
        var fullName: String
        var names: [Int32: String] = [:]
        var firstValue: Int32 = 0
    }

    var messages: [Message] = []
    var enumerations: [Enumeration] = []
    var messageByName: [String: Int] = [:]
    var enumerationByName: [String: Int] = [:]

    /// Every message type's full name (`foxglove.Imu`), in the order the descriptors list them.
    public var messageNames: [String] { messages.map(\.fullName) }

    /// Most message types a schema may declare; a descriptor set is small and a hostile one
    /// must not make us build millions of tables.
    public static let maximumMessageTypes = 100_000

    /// Reads a serialized `FileDescriptorSet`.
    public init(fileDescriptorSet bytes: [UInt8]) throws(CodecError) {
        var files: [FileDescriptor] = []
        try bytes.withUnsafeBufferPointer { (buffer) throws(CodecError) in
            var r = ProtobufWireReader(bytes: buffer)
            while !r.isAtEnd {
                let (field, wire) = try r.tag()
                if field == 1 && wire == .lengthDelimited {
                    files.append(try FileDescriptor(&r, r.lengthDelimited()))
                } else {
                    try r.skip(wire, field: field)
                }
            }
        }
        for file in files {
            let proto3 = file.syntax == "proto3"
            let scope = file.package.isEmpty ? "" : "." + file.package
            for m in file.messages { try add(m, scope: scope, proto3: proto3) }
            for e in file.enums { add(e, scope: scope) }
        }
        try link()
    }

    private mutating func add(_ d: MessageDescriptor, scope: String, proto3: Bool) throws(CodecError) {
        guard messages.count < Self.maximumMessageTypes else {
            throw CodecError("protobuf descriptor set declares more than \(Self.maximumMessageTypes) message types", at: 0)
        }
        let name = scope + "." + d.name
        var message = Message(fullName: String(name.dropFirst()))
        message.isMapEntry = d.isMapEntry
        message.isProto3 = proto3
        message.wellKnown = ProtobufWellKnown(fullName: message.fullName)
        for f in d.fields {
            guard let type = FieldType(rawValue: f.type) else {
                throw CodecError("protobuf field \(name).\(f.name) has unknown type \(f.type)", at: 0)
            }
            if message.fieldIndex[f.number] != nil {
                throw CodecError("protobuf message \(name) declares field number \(f.number) twice", at: 0)
            }
            message.fieldIndex[f.number] = message.fields.count
            message.fields.append(Field(name: f.name, number: f.number, type: type, isRepeated: f.label == 3,
                                        typeName: f.typeName, oneof: f.oneofIndex, proto3Optional: f.proto3Optional,
                                        defaultText: f.defaultValue, owner: messages.count))
        }
        messageByName[name] = messages.count
        messages.append(message)
        for nested in d.nested { try add(nested, scope: name, proto3: proto3) }
        for e in d.enums { add(e, scope: name) }
    }

    private mutating func add(_ d: EnumDescriptor, scope: String) {
        let name = scope + "." + d.name
        var e = Enumeration(fullName: String(name.dropFirst()))
        e.firstValue = d.values.first?.number ?? 0
        for v in d.values where e.names[v.number] == nil { e.names[v.number] = v.name }
        enumerationByName[name] = enumerations.count
        enumerations.append(e)
    }

    /// Resolves every field's type name. protoc writes them fully qualified (`.pkg.Type`); a
    /// relative name is looked up from the innermost enclosing scope outwards, as protoc does.
    private mutating func link() throws(CodecError) {
        for m in messages.indices {
            let scope = "." + messages[m].fullName
            for f in messages[m].fields.indices {
                let field = messages[m].fields[f]
                switch field.type {
                case .message, .group:
                    guard let target = resolve(field.typeName, from: scope, in: messageByName) else {
                        throw CodecError("protobuf field \(messages[m].fullName).\(field.name) refers to unknown message '\(field.typeName)'", at: 0)
                    }
                    messages[m].fields[f].message = target
                    messages[m].fields[f].isMap = field.isRepeated && field.type == .message && messages[target].isMapEntry
                case .enumeration:
                    guard let target = resolve(field.typeName, from: scope, in: enumerationByName) else {
                        throw CodecError("protobuf field \(messages[m].fullName).\(field.name) refers to unknown enum '\(field.typeName)'", at: 0)
                    }
                    messages[m].fields[f].enumeration = target
                default: break
                }
                messages[m].fields[f].defaultValue = defaultValue(of: messages[m].fields[f])
            }
        }
    }

    /// An absent field's value: proto2's declared default, else the type's zero value.
    private func defaultValue(of field: Field) -> Value {
        let text = field.defaultText
        switch field.type {
        case .message, .group: return .null
        case .int64, .int32, .sint32, .sint64, .sfixed32, .sfixed64:
            return .int(text.flatMap { Int64($0) } ?? 0)
        case .uint64, .uint32, .fixed32, .fixed64:
            let v = text.flatMap { UInt64($0) } ?? 0
            return v <= UInt64(Int64.max) ? .int(Int64(v)) : .uint(v)
        case .double, .float:
            guard let text else { return .double(0) }
            switch text {
            case "inf": return .double(.infinity)
            case "-inf": return .double(-.infinity)
            case "nan": return .double(.nan)
            default: return .double(Double(text) ?? 0)
            }
        case .bool: return .bool(text == "true")
        case .string: return .string(text ?? "")
        // descriptor.proto C-escapes bytes defaults; they are kept as the escaped text's bytes.
        case .bytes: return .bytes(Array((text ?? "").utf8))
        case .enumeration:
            let e = enumerations[field.enumeration]
            if let text { return .string(text) }
            return e.names[e.firstValue].map { .string($0) } ?? .int(Int64(e.firstValue))
        }
    }

    private func resolve(_ typeName: String, from scope: String, in table: [String: Int]) -> Int? {
        if typeName.hasPrefix(".") { return table[typeName] }
        var prefix = Substring(scope)
        while true {
            if let found = table[prefix + "." + typeName] { return found }
            guard let dot = prefix.lastIndex(of: ".") else { return nil }
            prefix = prefix[..<dot]
            if prefix.isEmpty { return table["." + typeName] }
        }
    }

    /// A decoder for one message type, named as MCAP names protobuf schemas (`foxglove.Imu`; a
    /// leading dot is accepted).
    public func decoder(for messageName: String) throws(CodecError) -> ProtobufDecoder {
        let key = messageName.hasPrefix(".") ? messageName : "." + messageName
        guard let index = messageByName[key] else {
            throw CodecError("protobuf message '\(messageName)' is not in the descriptor set", at: 0)
        }
        return ProtobufDecoder(schema: self, root: index)
    }
}

// MARK: - descriptor.proto, the parts decoding needs

private struct FileDescriptor {
    var package = ""
    var syntax = ""
    var messages: [MessageDescriptor] = []
    var enums: [EnumDescriptor] = []

    init(_ r: inout ProtobufWireReader, _ range: Range<Int>) throws(CodecError) {
        var s = ProtobufWireReader(bytes: r.bytes, from: range.lowerBound, to: range.upperBound)
        while !s.isAtEnd {
            let (field, wire) = try s.tag()
            switch (field, wire) {
            case (2, .lengthDelimited): package = try s.string()
            case (4, .lengthDelimited): messages.append(try MessageDescriptor(&s, s.lengthDelimited(), depth: 0))
            case (5, .lengthDelimited): enums.append(try EnumDescriptor(&s, s.lengthDelimited()))
            case (12, .lengthDelimited): syntax = try s.string()
            default: try s.skip(wire, field: field)
            }
        }
    }
}

private struct MessageDescriptor {
    var name = ""
    var fields: [FieldDescriptor] = []
    var nested: [MessageDescriptor] = []
    var enums: [EnumDescriptor] = []
    var isMapEntry = false

    init(_ r: inout ProtobufWireReader, _ range: Range<Int>, depth: Int) throws(CodecError) {
        guard depth < maximumNestingDepth else {
            throw CodecError("protobuf message types nested deeper than \(maximumNestingDepth)", at: range.lowerBound)
        }
        var s = ProtobufWireReader(bytes: r.bytes, from: range.lowerBound, to: range.upperBound)
        while !s.isAtEnd {
            let (field, wire) = try s.tag()
            switch (field, wire) {
            case (1, .lengthDelimited): name = try s.string()
            case (2, .lengthDelimited): fields.append(try FieldDescriptor(&s, s.lengthDelimited()))
            case (3, .lengthDelimited): nested.append(try MessageDescriptor(&s, s.lengthDelimited(), depth: depth + 1))
            case (4, .lengthDelimited): enums.append(try EnumDescriptor(&s, s.lengthDelimited()))
            case (7, .lengthDelimited):
                // MessageOptions: map_entry = 7.
                let options = try s.lengthDelimited()
                var o = ProtobufWireReader(bytes: s.bytes, from: options.lowerBound, to: options.upperBound)
                while !o.isAtEnd {
                    let (of, ow) = try o.tag()
                    if of == 7 && ow == .varint { isMapEntry = try o.varint() != 0 } else { try o.skip(ow, field: of) }
                }
            default: try s.skip(wire, field: field)
            }
        }
    }
}

private struct FieldDescriptor {
    var name = ""
    var number: UInt32 = 0
    var label: UInt64 = 1
    var type: UInt8 = 0
    var typeName = ""
    var defaultValue: String?
    var oneofIndex: Int?
    var proto3Optional = false

    init(_ r: inout ProtobufWireReader, _ range: Range<Int>) throws(CodecError) {
        var s = ProtobufWireReader(bytes: r.bytes, from: range.lowerBound, to: range.upperBound)
        while !s.isAtEnd {
            let (field, wire) = try s.tag()
            switch (field, wire) {
            case (1, .lengthDelimited): name = try s.string()
            case (3, .varint): number = UInt32(truncatingIfNeeded: try s.varint())
            case (4, .varint): label = try s.varint()
            case (5, .varint): type = UInt8(truncatingIfNeeded: min(try s.varint(), 255))
            case (6, .lengthDelimited): typeName = try s.string()
            case (7, .lengthDelimited): defaultValue = try s.string()
            case (9, .varint): oneofIndex = Int(truncatingIfNeeded: min(try s.varint(), 1 << 20))
            case (17, .varint): proto3Optional = try s.varint() != 0
            default: try s.skip(wire, field: field)
            }
        }
        guard number >= 1 && number <= 536_870_911 else {
            throw CodecError("protobuf field '\(name)' has number \(number), outside 1…536870911", at: range.lowerBound)
        }
    }
}

private struct EnumDescriptor {
    var name = ""
    var values: [(name: String, number: Int32)] = []

    init(_ r: inout ProtobufWireReader, _ range: Range<Int>) throws(CodecError) {
        var s = ProtobufWireReader(bytes: r.bytes, from: range.lowerBound, to: range.upperBound)
        while !s.isAtEnd {
            let (field, wire) = try s.tag()
            switch (field, wire) {
            case (1, .lengthDelimited): name = try s.string()
            case (2, .lengthDelimited):
                let v = try s.lengthDelimited()
                var e = ProtobufWireReader(bytes: s.bytes, from: v.lowerBound, to: v.upperBound)
                var valueName = ""
                var number: Int32 = 0
                while !e.isAtEnd {
                    let (ef, ew) = try e.tag()
                    switch (ef, ew) {
                    case (1, .lengthDelimited): valueName = try e.string()
                    case (2, .varint): number = Int32(truncatingIfNeeded: try e.varint())
                    default: try e.skip(ew, field: ef)
                    }
                }
                values.append((valueName, number))
            default: try s.skip(wire, field: field)
            }
        }
    }
}

extension ProtobufWireReader {
    mutating func string() throws(CodecError) -> String {
        let start = index
        let range = try lengthDelimited()
        guard let text = text(range) else { throw CodecError("protobuf descriptor string is not UTF-8", at: start) }
        return text
    }
}
