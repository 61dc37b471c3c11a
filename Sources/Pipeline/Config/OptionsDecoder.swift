/// A `Decoder` over a `ConfigNode` tree: stage config types decode from it with the usual
/// `Decodable` machinery, and every mistake becomes a `PipelineError` at the right line and column.
///
/// Scalars follow YAML's core schema as resolved by the parser: an `Int` field needs an integer
/// scalar (`size: "10"` is a type mismatch), a `Double` accepts integers and floats, a `String`
/// accepts any non-null scalar (YAML users write `name: 123` and mean text).
struct OptionsDecoder: Decoder {
    let node: ConfigNode
    let codingPath: [any CodingKey]
    let reads: OptionReads
    let place: StageOptions
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    var pathNames: [String] {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
    }

    func mismatch(_ expected: String, _ node: ConfigNode) -> PipelineError {
        let name = pathNames.joined(separator: ".")
        let what = name.isEmpty ? "options" : "option '\(name)'"
        return place.error("\(what): expected \(expected), found \(node.typeName)", at: node.position)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .mapping(let members) = node.content else { throw mismatch("a map", node) }
        let record = reads.container(path: pathNames, members: members)
        return KeyedDecodingContainer(OptionsKeyedContainer<Key>(decoder: self, members: members, record: record))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .sequence(let items) = node.content else { throw mismatch("a list", node) }
        return OptionsUnkeyedContainer(decoder: self, items: items)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        OptionsSingleValue(decoder: self)
    }

    func child(_ node: ConfigNode, key: any CodingKey) -> OptionsDecoder {
        let decoder = OptionsDecoder(node: node, codingPath: codingPath + [key], reads: reads, place: place)
        decoder.registerMapping()
        return decoder
    }

    /// Registers this node's keys as "not yet read" even if the type never opens a container
    /// (a config type with no fields): then every key is reported as unknown.
    func registerMapping() {
        if case .mapping(let members) = node.content {
            _ = reads.container(path: pathNames, members: members)
        }
    }
}

struct OptionsIndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { "[\(intValue ?? 0)]" }
    init(index: Int) { intValue = index }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.intValue = intValue }
}

struct OptionsKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: OptionsDecoder
    let members: [(key: String, keyPosition: ConfigPosition, value: ConfigNode)]
    let record: OptionReads.Container
    var codingPath: [any CodingKey] { decoder.codingPath }
    var allKeys: [Key] { members.compactMap { Key(stringValue: $0.key) } }

    func contains(_ key: Key) -> Bool {
        record.read.insert(key.stringValue)
        return members.contains { $0.key == key.stringValue }
    }

    func value(_ key: Key) throws -> ConfigNode {
        record.read.insert(key.stringValue)
        guard let member = members.first(where: { $0.key == key.stringValue }) else {
            let name = (decoder.pathNames + [key.stringValue]).joined(separator: ".")
            throw decoder.place.error("missing option '\(name)'", at: decoder.node.position)
        }
        return member.value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        let node = try value(key)
        if case .scalar(_, .null) = node.content { return true }
        return false
    }

    /// A missing or mistyped option is recorded and decoding goes on with a stand-in value, so
    /// one run finds every mistake (and every unknown key) of the config, not just the first.
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        do {
            let child = decoder.child(try value(key), key: key)
            return try OptionsSingleValue(decoder: child).decode(type)
        } catch let error as PipelineError {
            decoder.reads.problems.append(error)
            record.missing.insert(key.stringValue)
            if !members.contains(where: { $0.key == key.stringValue }) { record.absent.insert(key.stringValue) }
            do {
                return try T(from: PlaceholderDecoder(codingPath: codingPath + [key]))
            } catch {
                throw OptionReads.Abandoned()
            }
        }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey> {
        try decoder.child(try value(key), key: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder.child(try value(key), key: key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { decoder }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        decoder.child(try value(key), key: key)
    }
}

struct OptionsUnkeyedContainer: UnkeyedDecodingContainer {
    let decoder: OptionsDecoder
    let items: [ConfigNode]
    var currentIndex = 0
    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    mutating func next() throws -> OptionsDecoder {
        guard currentIndex < items.count else {
            throw decoder.place.error("option '\(decoder.pathNames.joined(separator: "."))': list has too few items",
                                      at: decoder.node.position)
        }
        defer { currentIndex += 1 }
        return decoder.child(items[currentIndex], key: OptionsIndexKey(index: currentIndex))
    }

    mutating func decodeNil() throws -> Bool {
        guard currentIndex < items.count else { return false }
        if case .scalar(_, .null) = items[currentIndex].content {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try OptionsSingleValue(decoder: try next()).decode(type)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next().unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { try next() }
}

struct OptionsSingleValue: SingleValueDecodingContainer {
    let decoder: OptionsDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }
    var node: ConfigNode { decoder.node }

    func decodeNil() -> Bool {
        if case .scalar(_, .null) = node.content { return true }
        return false
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .scalar(let text, .bool) = node.content else { throw decoder.mismatch("a boolean", node) }
        // YAML 1.1 booleans as libyaml resolves them: true/yes/on and their capitalisations.
        return ["true", "yes", "on", "y"].contains(text.lowercased())
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .scalar(let text, let kind) = node.content, kind != .null else {
            throw decoder.mismatch("a string", node)
        }
        return text
    }

    func integer<T: FixedWidthInteger>(_ type: T.Type, _ name: String) throws -> T {
        guard case .scalar(let text, .int) = node.content else { throw decoder.mismatch(name, node) }
        var digits = text.replacingOccurrences(of: "_", with: "")
        var negative = false
        if digits.hasPrefix("-") { negative = true; digits.removeFirst() } else if digits.hasPrefix("+") { digits.removeFirst() }
        var radix = 10
        for (prefix, r) in [("0x", 16), ("0o", 8), ("0b", 2)] where digits.lowercased().hasPrefix(prefix) {
            radix = r
            digits.removeFirst(2)
        }
        guard let magnitude = UInt64(digits, radix: radix) else { throw decoder.mismatch(name, node) }
        if negative {
            guard T.isSigned, magnitude <= UInt64(Int64.max) + 1 else {
                throw decoder.place.error("option '\(decoder.pathNames.joined(separator: "."))': \(text) is out of range",
                                          at: node.position)
            }
            let signed = magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
            if let value = T(exactly: signed) { return value }
        } else if let value = T(exactly: magnitude) {
            return value
        }
        throw decoder.place.error("option '\(decoder.pathNames.joined(separator: "."))': \(text) is out of range",
                                  at: node.position)
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(Int.self, "an integer") }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(Int8.self, "an integer") }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(Int16.self, "an integer") }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(Int32.self, "an integer") }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(Int64.self, "an integer") }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(UInt.self, "a non-negative integer") }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(UInt8.self, "a non-negative integer") }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(UInt16.self, "a non-negative integer") }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(UInt32.self, "a non-negative integer") }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(UInt64.self, "a non-negative integer") }

    func decode(_ type: Double.Type) throws -> Double {
        guard case .scalar(let text, let kind) = node.content, kind == .int || kind == .float else {
            throw decoder.mismatch("a number", node)
        }
        if kind == .int { return Double(try integer(Int64.self, "a number")) }
        switch text.lowercased() {
        case ".inf", "+.inf": return .infinity
        case "-.inf": return -.infinity
        case ".nan": return .nan
        default:
            guard let value = Double(text.replacingOccurrences(of: "_", with: "")) else { throw decoder.mismatch("a number", node) }
            return value
        }
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        switch type {
        case is Bool.Type: return try decode(Bool.self) as! T
        case is String.Type: return try decode(String.self) as! T
        case is Int.Type: return try decode(Int.self) as! T
        case is Int64.Type: return try decode(Int64.self) as! T
        case is UInt64.Type: return try decode(UInt64.self) as! T
        case is Double.Type: return try decode(Double.self) as! T
        default:
            // Enums with raw values land here via RawRepresentable's Decodable: give them a
            // message naming the allowed values when they say which.
            return try T(from: decoder)
        }
    }
}

/// Stand-in values for an option that is missing or mistyped, so decoding can go on and report
/// the config's other mistakes too: zero, false, empty text, empty lists and maps (so nested
/// required options are stand-ins too). A type whose own validation rejects its stand-in ends
/// the collection there.
struct PlaceholderDecoder: Decoder, SingleValueDecodingContainer {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(PlaceholderKeyed<Key>(codingPath: codingPath))
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { PlaceholderUnkeyed(codingPath: codingPath) }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { true }
    func decode(_ type: Bool.Type) throws -> Bool { false }
    func decode(_ type: String.Type) throws -> String { "" }
    func decode(_ type: Double.Type) throws -> Double { 0 }
    func decode(_ type: Float.Type) throws -> Float { 0 }
    func decode(_ type: Int.Type) throws -> Int { 0 }
    func decode(_ type: Int8.Type) throws -> Int8 { 0 }
    func decode(_ type: Int16.Type) throws -> Int16 { 0 }
    func decode(_ type: Int32.Type) throws -> Int32 { 0 }
    func decode(_ type: Int64.Type) throws -> Int64 { 0 }
    func decode(_ type: UInt.Type) throws -> UInt { 0 }
    func decode(_ type: UInt8.Type) throws -> UInt8 { 0 }
    func decode(_ type: UInt16.Type) throws -> UInt16 { 0 }
    func decode(_ type: UInt32.Type) throws -> UInt32 { 0 }
    func decode(_ type: UInt64.Type) throws -> UInt64 { 0 }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: self) }
}

struct PlaceholderKeyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let codingPath: [any CodingKey]
    var allKeys: [Key] { [] }
    func contains(_ key: Key) -> Bool { false }
    func decodeNil(forKey key: Key) throws -> Bool { true }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try T(from: PlaceholderDecoder(codingPath: codingPath + [key]))
    }
    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(PlaceholderKeyed<NestedKey>(codingPath: codingPath + [key]))
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        PlaceholderUnkeyed(codingPath: codingPath + [key])
    }
    func superDecoder() throws -> any Decoder { PlaceholderDecoder(codingPath: codingPath) }
    func superDecoder(forKey key: Key) throws -> any Decoder { PlaceholderDecoder(codingPath: codingPath + [key]) }
}

struct PlaceholderUnkeyed: UnkeyedDecodingContainer {
    let codingPath: [any CodingKey]
    var count: Int? { 0 }
    var isAtEnd: Bool { true }
    var currentIndex: Int { 0 }
    private func end() -> DecodingError {
        DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "stand-in list is empty"))
    }
    mutating func decodeNil() throws -> Bool { throw end() }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { throw end() }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey> { throw end() }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { throw end() }
    mutating func superDecoder() throws -> any Decoder { throw end() }
}
