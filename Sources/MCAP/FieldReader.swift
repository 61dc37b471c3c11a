/// Reads the fields of one record's content (spec "Serialization": little-endian integers,
/// `uint32` length-prefixed strings, arrays and maps). Every read checks the remaining length
/// before it copies or allocates, so a corrupt length can never cause a large allocation.
struct FieldReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var position = 0
    /// Record name used in errors ("Chunk", "Channel"…).
    let record: String
    /// File offset of `bytes[0]`, so errors name a file position; nil when unknown.
    let baseOffset: Int64?

    init(_ bytes: UnsafeRawBufferPointer, record: String, baseOffset: Int64?) {
        self.bytes = bytes
        self.record = record
        self.baseOffset = baseOffset
    }

    var remaining: Int { bytes.count - position }

    func malformed(_ field: String, _ what: String) -> MCAPError {
        MCAPError(.malformed, "\(record).\(field): \(what)",
                  offset: baseOffset.map { $0 + Int64(position) })
    }

    mutating func need(_ n: Int, _ field: String) throws {
        guard n >= 0, n <= remaining else {
            throw malformed(field, "needs \(n) bytes but only \(remaining) remain in the record")
        }
    }

    mutating func u8(_ field: String) throws -> UInt8 {
        try need(1, field)
        defer { position += 1 }
        return bytes.load(fromByteOffset: position, as: UInt8.self)
    }

    mutating func u16(_ field: String) throws -> UInt16 {
        try need(2, field)
        defer { position += 2 }
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt16.self))
    }

    mutating func u32(_ field: String) throws -> UInt32 {
        try need(4, field)
        defer { position += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    mutating func u64(_ field: String) throws -> UInt64 {
        try need(8, field)
        defer { position += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    /// A length prefix checked against what remains, as an Int.
    private mutating func length32(_ field: String) throws -> Int {
        let n = Int(try u32(field))
        try need(n, field)
        return n
    }

    private mutating func length64(_ field: String) throws -> Int {
        let n = try u64(field)
        guard n <= UInt64(remaining) else {
            throw malformed(field, "declares \(n) bytes but only \(remaining) remain in the record")
        }
        return Int(n)
    }

    /// `String`: uint32 byte length + UTF-8 (invalid sequences are replaced, not fatal).
    mutating func string(_ field: String) throws -> String {
        let n = try length32(field)
        defer { position += n }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<position + n]), as: UTF8.self)
    }

    /// `uint32 length-prefixed Bytes`.
    mutating func bytes32(_ field: String) throws -> [UInt8] {
        let n = try length32(field)
        defer { position += n }
        return Array(bytes[position..<position + n])
    }

    /// `uint64 length-prefixed Bytes`, returned as a range of `bytes` (no copy).
    mutating func range64(_ field: String) throws -> Range<Int> {
        let n = try length64(field)
        defer { position += n }
        return position..<position + n
    }

    /// Everything left in the record (Message `data` has no length prefix).
    mutating func rest() -> [UInt8] {
        defer { position = bytes.count }
        return Array(bytes[position...])
    }

    /// `Map<string, string>`: uint32 byte length, then key/value strings.
    mutating func stringMap(_ field: String) throws -> [String: String] {
        let n = try length32(field)
        let end = position + n
        var map: [String: String] = [:]
        while position < end {
            var sub = FieldReader(UnsafeRawBufferPointer(rebasing: bytes[position..<end]),
                                  record: record, baseOffset: baseOffset.map { $0 + Int64(position) })
            let key = try sub.string(field + " key")
            let value = try sub.string(field + " value")
            position += sub.position
            map[key] = value
        }
        return map
    }

    /// `Map<uint16, uint64>`.
    mutating func u16u64Map(_ field: String) throws -> [UInt16: UInt64] {
        let n = try length32(field)
        guard n % 10 == 0 else { throw malformed(field, "map length \(n) is not a multiple of 10") }
        var map: [UInt16: UInt64] = [:]
        map.reserveCapacity(n / 10)
        for _ in 0..<(n / 10) {
            let k = try u16(field)
            map[k] = try u64(field)
        }
        return map
    }

    /// `Array<Tuple<Timestamp, uint64>>`.
    mutating func timeOffsetArray(_ field: String) throws -> [MessageIndex.Entry] {
        let n = try length32(field)
        guard n % 16 == 0 else { throw malformed(field, "array length \(n) is not a multiple of 16") }
        var out: [MessageIndex.Entry] = []
        out.reserveCapacity(n / 16)
        for _ in 0..<(n / 16) {
            let t = try u64(field)
            out.append(MessageIndex.Entry(logTime: t, offset: try u64(field)))
        }
        return out
    }
}
