/// Unsigned LEB128 varints (the encoding protobuf and MCAP-alikes use) and zigzag for signed
/// deltas: small magnitudes take one byte whatever their sign.
enum Varint {
    /// Longest encoding of a UInt64: ceil(64 / 7) bytes.
    static let maxLength = 10

    @inline(__always)
    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Writes at `offset` into a buffer the caller sized (at least `maxLength` bytes free).
    @inline(__always)
    static func write(_ value: UInt64, to buf: UnsafeMutableRawBufferPointer, at offset: inout Int) {
        var v = value
        var i = offset
        while v >= 0x80 {
            buf[i] = UInt8(truncatingIfNeeded: v) | 0x80
            v >>= 7
            i += 1
        }
        buf[i] = UInt8(v)
        offset = i + 1
    }

    /// Reads a varint at `offset`, advancing it. Throws on a cut-off or over-long varint.
    @inline(__always)
    static func read(_ bytes: UnsafeRawBufferPointer, at offset: inout Int) throws(ChunkDecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var i = offset
        while true {
            guard i < bytes.count else { throw .truncated(at: offset, field: "varint") }
            let b = bytes[i]
            i += 1
            if shift == 63 && b > 1 { throw .malformed(at: offset, "varint overflows 64 bits") }
            result |= UInt64(b & 0x7f) << shift
            if b < 0x80 { break }
            shift += 7
            if shift > 63 { throw .malformed(at: offset, "varint longer than 10 bytes") }
        }
        offset = i
        return result
    }

    @inline(__always)
    static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }

    @inline(__always)
    static func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }
}
