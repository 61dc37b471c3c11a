
/// CBOR (RFC 8949) into `Value`. Every length is checked against the bytes left before
/// anything is allocated (§3: lengths are attacker-controlled).
///
/// Mapping: unsigned/negative integers → `.int` (or `.uint` above Int64.max; negatives below
/// Int64.min become `.double`), byte strings → `.bytes`, text → `.string` (UTF-8 checked),
/// maps → `.object` (non-text keys are written as their JSON text), tags → their content
/// (§3.4: a decoder may ignore tags it does not know), simple values false/true/null/undefined,
/// half/single/double floats (§3.3).
public enum CBOR {
    public static func decode(_ bytes: [UInt8]) throws -> Value {
        try bytes.withUnsafeBufferPointer { buffer in
            var reader = CBORReader(bytes: buffer)
            let value = try reader.item()
            guard reader.index == buffer.count else {
                throw CodecError("\(buffer.count - reader.index) bytes after the CBOR item", at: reader.index)
            }
            return value
        }
    }
}

struct CBORReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var depth = 0

    /// A marker for the "break" stop code (§3.2.1), only valid inside indefinite-length items.
    struct Break: Error {}

    mutating func byte() throws -> UInt8 {
        guard index < bytes.count else { throw CodecError("CBOR item truncated", at: index) }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func bigEndian(_ count: Int) throws -> UInt64 {
        guard bytes.count - index >= count else { throw CodecError("CBOR argument truncated", at: index) }
        var v: UInt64 = 0
        for k in 0..<count { v = v << 8 | UInt64(bytes[index + k]) }
        index += count
        return v
    }

    /// The argument of the initial byte (§3): additional info 0–23 inline, 24–27 follow in
    /// 1, 2, 4, 8 bytes; 31 means indefinite length (nil); 28–30 are reserved.
    mutating func argument(_ info: UInt8, at start: Int) throws -> UInt64? {
        switch info {
        case 0..<24: return UInt64(info)
        case 24: return try bigEndian(1)
        case 25: return try bigEndian(2)
        case 26: return try bigEndian(4)
        case 27: return try bigEndian(8)
        case 31: return nil
        default: throw CodecError("reserved CBOR additional information \(info)", at: start)
        }
    }

    mutating func length(_ argument: UInt64, unit: Int, at start: Int) throws -> Int {
        // Each element needs at least `unit` bytes, so a length beyond what is left is a lie.
        guard argument <= UInt64(bytes.count - index) / UInt64(unit) else {
            throw CodecError("CBOR length \(argument) exceeds the \(bytes.count - index) bytes left", at: start)
        }
        return Int(argument)
    }

    mutating func item(allowBreak: Bool = false) throws -> Value {
        let start = index
        let initial = try byte()
        let major = initial >> 5
        let info = initial & 0x1F
        switch major {
        case 0:
            guard let n = try argument(info, at: start) else { throw CodecError("indefinite integer", at: start) }
            return n <= UInt64(Int64.max) ? .int(Int64(n)) : .uint(n)
        case 1:
            guard let n = try argument(info, at: start) else { throw CodecError("indefinite integer", at: start) }
            return n <= UInt64(Int64.max) ? .int(-1 - Int64(n)) : .double(-1 - Double(n))
        case 2, 3:
            var data: [UInt8] = []
            if let n = try argument(info, at: start) {
                let count = try length(n, unit: 1, at: start)
                data = Array(UnsafeBufferPointer(rebasing: bytes[index..<index + count]))
                index += count
            } else {
                // §3.2.3: indefinite strings are definite chunks of the same major type.
                while true {
                    let chunkStart = index
                    let head = try byte()
                    if head == 0xFF { break }
                    guard head >> 5 == major, let n = try argument(head & 0x1F, at: chunkStart) else {
                        throw CodecError("invalid chunk in an indefinite-length string", at: chunkStart)
                    }
                    let count = try length(n, unit: 1, at: chunkStart)
                    data.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<index + count]))
                    index += count
                }
            }
            if major == 2 { return .bytes(data) }
            guard let text = UTF8Text.string(data) else {
                throw CodecError("CBOR text string is not valid UTF-8", at: start)
            }
            return .string(text)
        case 4:
            try enter(start)
            defer { depth -= 1 }
            var items: [Value] = []
            if let n = try argument(info, at: start) {
                let count = try length(n, unit: 1, at: start)
                items.reserveCapacity(count)
                for _ in 0..<count { items.append(try item()) }
            } else {
                while true {
                    if index < bytes.count && bytes[index] == 0xFF { index += 1; break }
                    items.append(try item())
                }
            }
            return .array(items)
        case 5:
            try enter(start)
            defer { depth -= 1 }
            var members: [(key: String, value: Value)] = []
            if let n = try argument(info, at: start) {
                let count = try length(n, unit: 2, at: start)
                members.reserveCapacity(count)
                for _ in 0..<count {
                    let keyStart = index
                    members.append((try mapKeyText(try item(), format: "CBOR", at: keyStart), try item()))
                }
            } else {
                while true {
                    if index < bytes.count && bytes[index] == 0xFF { index += 1; break }
                    let keyStart = index
                    members.append((try mapKeyText(try item(), format: "CBOR", at: keyStart), try item()))
                }
            }
            return .object(members)
        case 6:
            guard try argument(info, at: start) != nil else { throw CodecError("indefinite tag", at: start) }
            try enter(start)
            defer { depth -= 1 }
            return try item()
        default:
            switch info {
            case 20: return .bool(false)
            case 21: return .bool(true)
            case 22, 23: return .null
            case 24:
                let simple = try byte()
                guard simple >= 32 else { throw CodecError("invalid two-byte simple value \(simple)", at: start) }
                return .uint(UInt64(simple))
            case 25: return .double(Double(halfToFloat(UInt16(try bigEndian(2)))))
            case 26: return .double(Double(Float(bitPattern: UInt32(try bigEndian(4)))))
            case 27: return .double(Double(bitPattern: try bigEndian(8)))
            case 31: throw CodecError("unexpected CBOR break", at: start)
            case 0..<20: return .uint(UInt64(info))
            default: throw CodecError("reserved CBOR simple value \(info)", at: start)
            }
        }
    }

    mutating func enter(_ at: Int) throws {
        depth += 1
        guard depth <= maximumNestingDepth else { throw CodecError("CBOR nested deeper than \(maximumNestingDepth)", at: at) }
    }

    /// IEEE 754 binary16 to binary32 (RFC 8949 Appendix D).
    func halfToFloat(_ half: UInt16) -> Float {
        let exponent = Int(half >> 10 & 0x1F)
        let mantissa = Float(half & 0x3FF)
        let value: Float
        if exponent == 0 {
            value = mantissa * Float(sign: .plus, exponent: -24, significand: 1)
        } else if exponent != 31 {
            value = (mantissa + 1024) * Float(sign: .plus, exponent: exponent - 25, significand: 1)
        } else {
            value = mantissa == 0 ? .infinity : .nan
        }
        return half & 0x8000 != 0 ? -value : value
    }
}
