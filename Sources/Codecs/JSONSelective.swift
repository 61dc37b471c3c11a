extension JSONText {
    /// A `ValueSelection` compiled once for the JSON scanner: member names kept as bytes, selected
    /// elements in position order.
    public struct Selector: Sendable {
        struct Node: Sendable {
            struct Member: Sendable {
                var name: String
                var utf8: [UInt8]
                var isASCII: Bool
                var node: Node
            }
            struct Element: Sendable {
                var position: Int
                var node: Node
            }
            var isWhole: Bool
            var members: [Member]
            /// Sorted by position.
            var elements: [Element]

            init(_ selection: ValueSelection) {
                isWhole = selection.isWhole
                members = selection.members.map { name, sub in
                    Member(name: name, utf8: Array(name.utf8), isASCII: name.utf8.allSatisfy { $0 < 0x80 }, node: Node(sub))
                }
                elements = selection.elements.sorted { $0.key < $1.key }.map { Element(position: $0.key, node: Node($0.value)) }
            }
        }

        let root: Node

        public init(_ selection: ValueSelection) {
            root = Node(selection)
        }

        /// Everything is selected: parsing with it is `JSONText.parse`.
        public var isWhole: Bool { root.isWhole }
    }

    /// Parses one JSON text but builds only what `selector` selects (`ValueSelection.selecting(from:)`
    /// of the full parse, equal to it), skipping the rest without building it.
    ///
    /// The skipped parts are checked as strictly as `parse` checks them (grammar, string escapes
    /// and surrogate pairs, UTF-8, number syntax, nesting depth), so a payload throws here exactly
    /// when `parse` throws; what is saved is building strings, numbers, arrays and objects
    /// nobody reads.
    public static func parse(_ bytes: [UInt8], selecting selector: Selector) throws -> Value {
        if selector.root.isWhole { return try parse(bytes) }
        return try bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer)
            parser.skipWhitespace()
            let value = try parser.parseSelected(selector.root)
            parser.skipWhitespace()
            guard parser.index == buffer.count else { throw CodecError("unexpected text after the JSON value", at: parser.index) }
            return value
        }
    }
}

/// The selective half of the parser: the same grammar as `parseValue` and its helpers, in the
/// same order, with "skip" twins that check without building.
extension JSONParser {
    mutating func parseSelected(_ node: JSONText.Selector.Node) throws -> Value {
        if node.isWhole { return try parseValue() }
        guard index < bytes.count else { throw CodecError("unexpected end of JSON", at: index) }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseSelectedObject(node)
        case UInt8(ascii: "["): return try parseSelectedArray(node)
        // A scalar where a container was selected: lookups below it are null either way.
        default: return try parseValue()
        }
    }

    mutating func parseSelectedObject(_ node: JSONText.Selector.Node) throws -> Value {
        try enter()
        defer { depth -= 1 }
        index += 1
        var members: [(key: String, value: Value)] = []
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw CodecError("expected a string key", at: index)
            }
            let match = try matchKey(node.members)
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw CodecError("expected ':'", at: index) }
            index += 1
            skipWhitespace()
            // The first member of a name is the one `Value.subscript(key:)` finds; later ones
            // with an equal name are skipped.
            if let match, !members.contains(where: { $0.key == match.key }) {
                members.append((match.key, try parseSelected(node.members[match.member].node)))
            } else {
                try skipValue()
            }
            skipWhitespace()
            guard index < bytes.count else { throw CodecError("unexpected end of JSON in an object", at: index) }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            throw CodecError("expected ',' or '}'", at: index)
        }
    }

    mutating func parseSelectedArray(_ node: JSONText.Selector.Node) throws -> Value {
        try enter()
        defer { depth -= 1 }
        index += 1
        var items: [Value] = []
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        let last = node.elements.last?.position ?? -1
        var position = 0
        var next = 0  // the next selected element, by position
        while true {
            skipWhitespace()
            if next < node.elements.count && node.elements[next].position == position {
                items.append(try parseSelected(node.elements[next].node))
                next += 1
            } else {
                try skipValue()
                if position < last { items.append(.null) }
            }
            position += 1
            skipWhitespace()
            guard index < bytes.count else { throw CodecError("unexpected end of JSON in an array", at: index) }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
            throw CodecError("expected ',' or ']'", at: index)
        }
    }

    /// Reads the key at `index` (a `"`) and returns which selected member it names, if any,
    /// with the key as text. Names compare as Swift strings compare (canonical equivalence, as
    /// `Value.subscript(key:)` does); bytes are compared only when both sides are ASCII, where
    /// that is the same thing.
    mutating func matchKey(_ members: [JSONText.Selector.Node.Member]) throws -> (member: Int, key: String)? {
        let start = index + 1
        var scan = start
        var high: UInt8 = 0
        while scan < bytes.count {
            let b = bytes[scan]
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 { break }
            high |= b
            scan += 1
        }
        guard scan < bytes.count, bytes[scan] == UInt8(ascii: "\"") else {
            // Escapes, a control character or the end: the full string reader decides.
            let key = try parseString()
            guard let k = members.firstIndex(where: { $0.name == key }) else { return nil }
            return (k, key)
        }
        let raw = UnsafeBufferPointer(rebasing: bytes[start..<scan])
        let isASCII = high < 0x80
        if !isASCII && !UTF8Text.isValid(raw) { throw CodecError("string is not valid UTF-8", at: start) }
        index = scan + 1
        // Members are compared in place: iterating them by value copied each one (its name,
        // bytes and sub-selection retained and released) for every key of every object.
        return members.withUnsafeBufferPointer { members -> (member: Int, key: String)? in
            var text: String?
            for k in members.indices {
                if isASCII && members[k].isASCII {
                    let same = members[k].utf8.withUnsafeBufferPointer { name -> Bool in
                        guard name.count == raw.count else { return false }
                        var i = 0
                        while i < raw.count && name[i] == raw[i] { i += 1 }
                        return i == raw.count
                    }
                    if same { return (k, members[k].name) }
                } else {
                    let key = text ?? String(decoding: raw, as: UTF8.self)
                    text = key
                    if members[k].name == key { return (k, key) }
                }
            }
            return nil
        }
    }

    mutating func skipValue() throws {
        guard index < bytes.count else { throw CodecError("unexpected end of JSON", at: index) }
        switch bytes[index] {
        case UInt8(ascii: "{"): try skipObject()
        case UInt8(ascii: "["): try skipArray()
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): try expectWord("true")
        case UInt8(ascii: "f"): try expectWord("false")
        case UInt8(ascii: "n"): try expectWord("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
        default: throw CodecError("unexpected character '\(printable(bytes[index]))'", at: index)
        }
    }

    mutating func skipObject() throws {
        try enter()
        defer { depth -= 1 }
        index += 1
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw CodecError("expected a string key", at: index)
            }
            try skipString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw CodecError("expected ':'", at: index) }
            index += 1
            skipWhitespace()
            try skipValue()
            skipWhitespace()
            guard index < bytes.count else { throw CodecError("unexpected end of JSON in an object", at: index) }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return }
            throw CodecError("expected ',' or '}'", at: index)
        }
    }

    mutating func skipArray() throws {
        try enter()
        defer { depth -= 1 }
        index += 1
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            try skipValue()
            skipWhitespace()
            guard index < bytes.count else { throw CodecError("unexpected end of JSON in an array", at: index) }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return }
            throw CodecError("expected ',' or ']'", at: index)
        }
    }

    /// A string without escapes is checked in place (no control characters, valid UTF-8, as
    /// `parseString` checks); one with escapes goes through `parseString` itself.
    mutating func skipString() throws {
        let start = index + 1
        var scan = start
        var high: UInt8 = 0
        // Eight bytes at a time while none of them is a quote, a backslash or a control
        // character (the classic "has a byte less than n" and "has a zero byte" word tests);
        // the word holding one is left to the byte loop below.
        var words: UInt64 = 0
        if let base = bytes.baseAddress {
            while scan &+ 8 <= bytes.count {
                let w = UnsafeRawPointer(base + scan).loadUnaligned(as: UInt64.self)
                if Self.hasQuoteBackslashOrControl(w) { break }
                words |= w
                scan &+= 8
            }
        }
        if words & 0x8080_8080_8080_8080 != 0 { high = 0x80 }
        while scan < bytes.count {
            let b = bytes[scan]
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 { break }
            high |= b
            scan += 1
        }
        guard scan < bytes.count, bytes[scan] == UInt8(ascii: "\"") else {
            _ = try parseString()
            return
        }
        if high >= 0x80 && !UTF8Text.isValid(UnsafeBufferPointer(rebasing: bytes[start..<scan])) {
            throw CodecError("string is not valid UTF-8", at: start)
        }
        index = scan + 1
    }

    /// True when a byte of `w` is a quote, a backslash or below 0x20. Bytes of 0x80 and up
    /// never count (the `& ~w` drops them); each test is exact for the word as a whole.
    @inline(__always)
    static func hasQuoteBackslashOrControl(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        func hasZeroByte(_ x: UInt64) -> Bool { (x &- ones) & ~x & highs != 0 }
        let control = (w &- ones &* 0x20) & ~w & highs != 0
        return control || hasZeroByte(w ^ (ones &* 0x22)) || hasZeroByte(w ^ (ones &* 0x5C))
    }
}
