import CCRC32

/// CRC-32 as MCAP uses it (spec "Chunk", "Data End", "Footer", "Attachment": the zlib/IEEE
/// 802.3 CRC, reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF). The chunk CRC
/// covers every uncompressed byte and the data-section CRC every file byte, so this bounds
/// export and import throughput: CCRC32 folds with carry-less multiplication (~3x zlib's loop).
struct CRC32 {
    private(set) var value: UInt32 = 0

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let p = bytes.baseAddress, bytes.count > 0 else { return }
        value = ccrc32_update(value, p, bytes.count)
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
