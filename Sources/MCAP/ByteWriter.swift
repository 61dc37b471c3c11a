/// Appends records and fields in MCAP's serialization (spec "Serialization").
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    var count: Int { bytes.count }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func raw(_ b: UnsafeRawBufferPointer) { bytes.append(contentsOf: b) }
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { u in
            u32(UInt32(u.count))
            bytes.append(contentsOf: u)
        }
    }

    mutating func bytes32(_ b: [UInt8]) {
        u32(UInt32(b.count))
        bytes.append(contentsOf: b)
    }

    /// Keys sorted so equal maps always encode to equal bytes.
    mutating func stringMap(_ m: [String: String]) {
        let start = beginLength32()
        for key in m.keys.sorted() {
            string(key)
            string(m[key] ?? "")
        }
        endLength32(start)
    }

    mutating func u16u64Map(_ m: [UInt16: UInt64]) {
        u32(UInt32(m.count * 10))
        for key in m.keys.sorted() {
            u16(key)
            u64(m[key] ?? 0)
        }
    }

    /// Reserves a uint32 length and returns where its content starts.
    mutating func beginLength32() -> Int {
        u32(0)
        return bytes.count
    }

    mutating func endLength32(_ start: Int) {
        patch32(at: start - 4, UInt32(bytes.count - start))
    }

    /// Writes `<opcode><u64 length placeholder>`; returns where the content starts.
    mutating func beginRecord(_ op: Opcode) -> Int {
        bytes.append(op.rawValue)
        u64(0)
        return bytes.count
    }

    mutating func endRecord(_ start: Int) {
        let n = UInt64(bytes.count - start).littleEndian
        withUnsafeBytes(of: n) { src in
            for i in 0..<8 { bytes[start - 8 + i] = src[i] }
        }
    }

    mutating func patch32(at index: Int, _ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { src in
            for i in 0..<4 { bytes[index + i] = src[i] }
        }
    }
}
