import CZlib

/// CRC-32 as MCAP uses it (spec "Chunk", "Data End", "Footer": the zlib/IEEE 802.3 CRC,
/// reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF). Computed by zlib's
/// `crc32`, whose braided loop runs about 3x faster than a slicing-by-8 table loop here; the
/// chunk CRC covers every uncompressed byte, so this bounds export and import throughput.
struct CRC32 {
    private(set) var value: UInt32 = 0

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var n = bytes.count
        var crc = UInt(value)
        // zlib takes a uInt length: feed at most 1 GiB at a time.
        while n > 0 {
            let step = min(n, 1 << 30)
            crc = CZlib.crc32(crc, p, uInt(step))
            p += step
            n -= step
        }
        value = UInt32(truncatingIfNeeded: crc)
    }

    mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c = CRC32()
        c.update(bytes)
        return c.value
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}
