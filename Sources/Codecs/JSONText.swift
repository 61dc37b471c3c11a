#if canImport(Glibc)
import Glibc
#endif

/// JSON (RFC 8259) to and from `Value`, without Foundation: integers stay exact (a u64 user
/// timestamp must survive, which a `Double` would not), object keys keep their order, and the
/// writer is canonical (no spaces, fixed escapes) so JSON lines round trips are byte-exact.
public enum JSONText {
    /// Parses one JSON text (surrounding whitespace allowed, nothing else after it).
    public static func parse(_ bytes: [UInt8]) throws -> Value {
        try bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer)
            let value = try parser.parseDocument()
            return value
        }
    }

    public static func parse(_ text: String) throws -> Value {
        try parse(Array(text.utf8))
    }

    /// Appends the canonical JSON of `value`: no whitespace, keys in stored order, strings with
    /// only `"` `\` and control characters escaped (RFC 8259 §7), bytes as a base64 string,
    /// non-finite doubles as null (JSON has no NaN or infinity).
    public static func write(_ value: Value, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): appendInteger(i, into: &out)
        case .uint(let u): appendUnsigned(u, into: &out)
        case .double(let d):
            if d.isFinite {
                // Swift's description is the shortest text that reads back to the same double.
                out.append(contentsOf: d.description.utf8)
            } else {
                out.append(contentsOf: "null".utf8)
            }
        case .string(let s): writeString(s, into: &out)
        case .bytes(let b):
            out.append(UInt8(ascii: "\""))
            Base64.encode(b, into: &out)
            out.append(UInt8(ascii: "\""))
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(member.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    public static func text(_ value: Value) -> String {
        var out: [UInt8] = []
        write(value, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    public static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\\"))
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0x08: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "f"))
            case 0..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 15)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    public static func appendInteger(_ value: Int64, into out: inout [UInt8]) {
        if value < 0 {
            out.append(UInt8(ascii: "-"))
            appendUnsigned(value.magnitude, into: &out)
        } else {
            appendUnsigned(UInt64(value), into: &out)
        }
    }

    public static func appendUnsigned(_ value: UInt64, into out: inout [UInt8]) {
        if value < 10 {
            out.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 {
                d[count] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                count += 1
            }
            for i in stride(from: count - 1, through: 0, by: -1) { out.append(d[i]) }
        }
    }
}

/// A recursive-descent JSON parser over a byte buffer. Offsets in errors are byte offsets.
struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var depth = 0

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func parseDocument() throws -> Value {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard index == bytes.count else { throw CodecError("unexpected text after the JSON value", at: index) }
        return value
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func parseValue() throws -> Value {
        guard index < bytes.count else { throw CodecError("unexpected end of JSON", at: index) }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw CodecError("unexpected character '\(printable(bytes[index]))'", at: index)
        }
    }

    func printable(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }

    mutating func expectWord(_ word: StaticString) throws {
        let start = index
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw CodecError("invalid literal", at: start) }
        let ok = word.withUTF8Buffer { w in
            (0..<count).allSatisfy { bytes[index + $0] == w[$0] }
        }
        guard ok else { throw CodecError("invalid literal", at: start) }
        index += count
    }

    mutating func enter() throws {
        depth += 1
        guard depth <= maximumNestingDepth else { throw CodecError("JSON nested deeper than \(maximumNestingDepth)", at: index) }
    }

    mutating func parseObject() throws -> Value {
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
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw CodecError("expected ':'", at: index) }
            index += 1
            skipWhitespace()
            members.append((key, try parseValue()))
            skipWhitespace()
            guard index < bytes.count else { throw CodecError("unexpected end of JSON in an object", at: index) }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            throw CodecError("expected ',' or '}'", at: index)
        }
    }

    mutating func parseArray() throws -> Value {
        try enter()
        defer { depth -= 1 }
        index += 1
        var items: [Value] = []
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw CodecError("unexpected end of JSON in an array", at: index) }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
            throw CodecError("expected ',' or ']'", at: index)
        }
    }

    mutating func parseString() throws -> String {
        let start = index
        index += 1
        // Fast path: no escapes; validate the UTF-8 once.
        var scan = index
        while scan < bytes.count {
            let b = bytes[scan]
            if b == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[index..<scan])
                guard let s = UTF8Text.string(slice) else {
                    throw CodecError("string is not valid UTF-8", at: index)
                }
                index = scan + 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw CodecError("control character in a string", at: scan) }
            scan += 1
        }
        var out: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[index..<min(scan, bytes.count)]))
        index = scan
        while true {
            guard index < bytes.count else { throw CodecError("unterminated string", at: start) }
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                index += 1
                guard let s = UTF8Text.string(out) else {
                    throw CodecError("string is not valid UTF-8", at: start)
                }
                return s
            }
            if b < 0x20 { throw CodecError("control character in a string", at: index) }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                index += 1
                continue
            }
            guard index + 1 < bytes.count else { throw CodecError("unterminated escape", at: index) }
            let e = bytes[index + 1]
            index += 2
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                // RFC 8259 §7: characters beyond the BMP are written as a UTF-16 surrogate pair.
                if (0xD800..<0xDC00).contains(scalar) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw CodecError("unpaired surrogate in \\u escape", at: index)
                    }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw CodecError("invalid low surrogate", at: index - 4) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw CodecError("unpaired surrogate in \\u escape", at: index - 4)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw CodecError("invalid \\u escape", at: index - 4) }
                out.append(contentsOf: Array(String(Character(unicode)).utf8))
            default:
                throw CodecError("invalid escape '\\\(printable(e))'", at: index - 2)
            }
        }
    }

    mutating func parseHex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw CodecError("truncated \\u escape", at: index) }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = bytes[index + k]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw CodecError("invalid hex digit in \\u escape", at: index + k)
            }
            v = v << 4 | d
        }
        index += 4
        return v
    }

    static let exactPowersOfTen: [Double] = (0...22).map { k in (0..<k).reduce(1.0) { acc, _ in acc * 10 } }

    /// Clinger's fast path: a decimal with at most 15 significant digits and a power of ten
    /// within ±22 is exactly one IEEE multiplication or division of two exact doubles, so
    /// correctly rounded without strtod. nil when it does not apply.
    func fastDouble(_ start: Int, _ end: Int) -> Double? {
        var i = start
        var negative = false
        if bytes[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        var seenPoint = false
        while i < end {
            let c = bytes[i]
            if c == UInt8(ascii: ".") {
                seenPoint = true
            } else if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                if mantissa != 0 || c != UInt8(ascii: "0") { digits += 1 }
                guard digits <= 15 else { return nil }
                mantissa = mantissa * 10 + UInt64(c - UInt8(ascii: "0"))
                if seenPoint { exponent -= 1 }
            } else {
                break  // an exponent part
            }
            i += 1
        }
        if i < end {
            i += 1  // e or E
            var expNegative = false
            if bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { expNegative = bytes[i] == UInt8(ascii: "-"); i += 1 }
            var e = 0
            while i < end {
                e = e * 10 + Int(bytes[i] - UInt8(ascii: "0"))
                guard e < 1000 else { return nil }
                i += 1
            }
            exponent += expNegative ? -e : e
        }
        guard exponent >= -22 && exponent <= 22 else { return nil }
        var value = Double(mantissa)
        value = exponent < 0 ? value / Self.exactPowersOfTen[-exponent] : value * Self.exactPowersOfTen[exponent]
        return negative ? -value : value
    }

    mutating func parseNumber() throws -> Value {
        let (start, magnitude, negative, isFloat, overflow) = try scanNumber()
        if !isFloat && !overflow {
            if !negative {
                return magnitude <= UInt64(Int64.max) ? .int(Int64(magnitude)) : .uint(magnitude)
            }
            if magnitude <= UInt64(Int64.max) { return .int(-Int64(magnitude)) }
            if magnitude == UInt64(Int64.max) + 1 { return .int(Int64.min) }
        }
        if let fast = fastDouble(start, index) { return .double(fast) }
        // strtod on a NUL-terminated stack copy: no String allocation per number. The grammar
        // was checked above, so strtod sees only RFC 8259 number text.
        let length = index - start
        let parsed: Double? = withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buffer in
            for k in 0..<length { buffer[k] = CChar(bitPattern: bytes[start + k]) }
            buffer[length] = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(buffer.baseAddress!, &end)
            return end == buffer.baseAddress! + length ? value : nil
        }
        guard let d = parsed else { throw CodecError("invalid number", at: start) }
        return .double(d)
    }

    /// Checks the RFC 8259 §6 number grammar from `index` and moves past it; the integer
    /// magnitude comes along for `parseNumber`. Every failure of a number is thrown here (text
    /// that passes always converts), which is what lets a selective parse skip numbers.
    mutating func scanNumber() throws -> (start: Int, magnitude: UInt64, negative: Bool, isFloat: Bool, overflow: Bool) {
        let start = index
        try skipNumber()
        // The value of the integer digits the grammar check passed over.
        var i = start
        let negative = bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var magnitude: UInt64 = 0
        var overflow = false
        while i < index, Self.isDigit(bytes[i]) {
            let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(UInt64(bytes[i] - UInt8(ascii: "0")))
            overflow = overflow || o1 || o2
            magnitude = m2
            i += 1
        }
        // Anything after the integer digits is a fraction or an exponent.
        return (start, magnitude, negative, i < index, overflow)
    }

    /// A number's grammar (RFC 8259 §6), checked without computing its value (the selective
    /// parse skips numbers nobody reads with it; `scanNumber` computes the value after it).
    mutating func skipNumber() throws {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, Self.isDigit(bytes[index]) else { throw CodecError("invalid number", at: start) }
        if bytes[index] == UInt8(ascii: "0"), index + 1 < bytes.count, Self.isDigit(bytes[index + 1]) {
            throw CodecError("leading zero in a number", at: index)
        }
        while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            let digitsStart = index
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
            guard index > digitsStart else { throw CodecError("digits expected after '.'", at: index) }
        }
        if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            index += 1
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
            let digitsStart = index
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
            guard index > digitsStart else { throw CodecError("digits expected in exponent", at: index) }
        }
    }

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }
}
