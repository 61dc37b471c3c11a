
/// MessagePack (github.com/msgpack/msgpack/blob/master/spec.md) into `Value`. Lengths are
/// checked against the bytes left before allocating.
///
/// Mapping: integers → `.int` (`.uint` above Int64.max), float 32/64 → `.double`, str →
/// `.string` (UTF-8 checked), bin → `.bytes`, ext → `.bytes` of its data (the ext type is not
/// kept), maps → `.object` (non-string keys written as their JSON text).
public enum MessagePack {
    public static func decode(_ bytes: [UInt8]) throws -> Value {
        try bytes.withUnsafeBufferPointer { buffer in
            var reader = MessagePackReader(bytes: buffer)
            let value = try reader.item()
            guard reader.index == buffer.count else {
                throw CodecError("\(buffer.count - reader.index) bytes after the MessagePack value", at: reader.index)
            }
            return value
        }
    }
}

struct MessagePackReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var depth = 0

    mutating func bigEndian(_ count: Int) throws -> UInt64 {
        guard bytes.count - index >= count else { throw CodecError("MessagePack value truncated", at: index) }
        var v: UInt64 = 0
        for k in 0..<count { v = v << 8 | UInt64(bytes[index + k]) }
        index += count
        return v
    }

    mutating func raw(_ count: UInt64, at start: Int) throws -> [UInt8] {
        guard count <= UInt64(bytes.count - index) else {
            throw CodecError("MessagePack length \(count) exceeds the \(bytes.count - index) bytes left", at: start)
        }
        let n = Int(count)
        defer { index += n }
        return Array(UnsafeBufferPointer(rebasing: bytes[index..<index + n]))
    }

    mutating func string(_ count: UInt64, at start: Int) throws -> Value {
        let data = try raw(count, at: start)
        guard let s = UTF8Text.string(data) else {
            throw CodecError("MessagePack str is not valid UTF-8", at: start)
        }
        return .string(s)
    }

    mutating func array(_ count: UInt64, at start: Int) throws -> Value {
        guard count <= UInt64(bytes.count - index) else {
            throw CodecError("MessagePack array of \(count) exceeds the bytes left", at: start)
        }
        try enter(start)
        defer { depth -= 1 }
        var items: [Value] = []
        items.reserveCapacity(Int(count))
        for _ in 0..<count { items.append(try item()) }
        return .array(items)
    }

    mutating func map(_ count: UInt64, at start: Int) throws -> Value {
        guard count <= UInt64(bytes.count - index) / 2 else {
            throw CodecError("MessagePack map of \(count) exceeds the bytes left", at: start)
        }
        try enter(start)
        defer { depth -= 1 }
        var members: [(key: String, value: Value)] = []
        members.reserveCapacity(Int(count))
        for _ in 0..<count {
            let keyStart = index
            let keyText = try mapKeyText(try item(), format: "MessagePack", at: keyStart)
            members.append((keyText, try item()))
        }
        return .object(members)
    }

    mutating func enter(_ at: Int) throws {
        depth += 1
        guard depth <= maximumNestingDepth else { throw CodecError("MessagePack nested deeper than \(maximumNestingDepth)", at: at) }
    }

    func unsigned(_ v: UInt64) -> Value { v <= UInt64(Int64.max) ? .int(Int64(v)) : .uint(v) }

    mutating func item() throws -> Value {
        let start = index
        guard index < bytes.count else { throw CodecError("MessagePack value truncated", at: index) }
        let b = bytes[index]
        index += 1
        switch b {
        case 0x00...0x7F: return .int(Int64(b))
        case 0x80...0x8F: return try map(UInt64(b & 0x0F), at: start)
        case 0x90...0x9F: return try array(UInt64(b & 0x0F), at: start)
        case 0xA0...0xBF: return try string(UInt64(b & 0x1F), at: start)
        case 0xC0: return .null
        case 0xC2: return .bool(false)
        case 0xC3: return .bool(true)
        case 0xC4: return .bytes(try raw(try bigEndian(1), at: start))
        case 0xC5: return .bytes(try raw(try bigEndian(2), at: start))
        case 0xC6: return .bytes(try raw(try bigEndian(4), at: start))
        case 0xC7, 0xC8, 0xC9:
            let n = try bigEndian(b == 0xC7 ? 1 : b == 0xC8 ? 2 : 4)
            _ = try bigEndian(1)  // ext type
            return .bytes(try raw(n, at: start))
        case 0xCA: return .double(Double(Float(bitPattern: UInt32(try bigEndian(4)))))
        case 0xCB: return .double(Double(bitPattern: try bigEndian(8)))
        case 0xCC: return unsigned(try bigEndian(1))
        case 0xCD: return unsigned(try bigEndian(2))
        case 0xCE: return unsigned(try bigEndian(4))
        case 0xCF: return unsigned(try bigEndian(8))
        case 0xD0: return .int(Int64(Int8(truncatingIfNeeded: try bigEndian(1))))
        case 0xD1: return .int(Int64(Int16(truncatingIfNeeded: try bigEndian(2))))
        case 0xD2: return .int(Int64(Int32(truncatingIfNeeded: try bigEndian(4))))
        case 0xD3: return .int(Int64(bitPattern: try bigEndian(8)))
        case 0xD4...0xD8:
            _ = try bigEndian(1)  // ext type
            return .bytes(try raw(UInt64(1) << UInt64(b - 0xD4), at: start))
        case 0xD9: return try string(try bigEndian(1), at: start)
        case 0xDA: return try string(try bigEndian(2), at: start)
        case 0xDB: return try string(try bigEndian(4), at: start)
        case 0xDC: return try array(try bigEndian(2), at: start)
        case 0xDD: return try array(try bigEndian(4), at: start)
        case 0xDE: return try map(try bigEndian(2), at: start)
        case 0xDF: return try map(try bigEndian(4), at: start)
        case 0xE0...0xFF: return .int(Int64(Int8(bitPattern: b)))
        default: throw CodecError("0xc1 is never used in MessagePack", at: start)
        }
    }
}
