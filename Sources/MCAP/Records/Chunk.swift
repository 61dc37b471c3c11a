/// Chunk (op=0x06): a batch of Schema, Channel and Message records, compressed together.
///
/// | Bytes | Name               | Type                         | Description |
/// |-------|--------------------|------------------------------|-------------|
/// | 8     | message_start_time | Timestamp                    | Earliest message log_time; 0 if none. |
/// | 8     | message_end_time   | Timestamp                    | Latest message log_time; 0 if none. |
/// | 8     | uncompressed_size  | uint64                       | Size of `records` once decompressed. |
/// | 4     | uncompressed_crc   | uint32                       | CRC32 of the decompressed `records`; 0 = do not check. |
/// | 4 + N | compression        | String                       | `zstd`, `lz4` or `""` (none). |
/// | 8 + N | records            | uint64 length-prefixed Bytes | The records, compressed with `compression`. |
struct ChunkHeader: Sendable, Hashable {
    var messageStartTime: UInt64
    var messageEndTime: UInt64
    var uncompressedSize: UInt64
    var uncompressedCRC: UInt32
    var compression: String

    /// Decodes the fixed fields and returns the range of the compressed `records` in `r.bytes`.
    static func decode(_ r: inout FieldReader) throws -> (ChunkHeader, Range<Int>) {
        let h = ChunkHeader(messageStartTime: try r.u64("message_start_time"),
                            messageEndTime: try r.u64("message_end_time"),
                            uncompressedSize: try r.u64("uncompressed_size"),
                            uncompressedCRC: try r.u32("uncompressed_crc"),
                            compression: try r.string("compression"))
        return (h, try r.range64("records"))
    }

    /// Encodes the whole record; `records` are the already compressed bytes.
    func encodePrefix(recordsLength: Int, into w: inout ByteWriter) {
        w.u8(Opcode.chunk.rawValue)
        w.u64(UInt64(8 + 8 + 8 + 4 + 4 + compression.utf8.count + 8 + recordsLength))
        w.u64(messageStartTime)
        w.u64(messageEndTime)
        w.u64(uncompressedSize)
        w.u32(uncompressedCRC)
        w.string(compression)
        w.u64(UInt64(recordsLength))
    }
}
