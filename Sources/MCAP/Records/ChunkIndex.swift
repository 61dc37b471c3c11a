/// Chunk Index (op=0x08): in the summary, one per chunk, so readers can seek to chunks by time.
///
/// | Bytes | Name                  | Type                | Description |
/// |-------|-----------------------|---------------------|-------------|
/// | 8     | message_start_time    | Timestamp           | Earliest message log_time in the chunk. |
/// | 8     | message_end_time      | Timestamp           | Latest message log_time in the chunk. |
/// | 8     | chunk_start_offset    | uint64              | Offset of the chunk record. |
/// | 8     | chunk_length          | uint64              | Length of the chunk record including opcode and length. |
/// | 4 + N | message_index_offsets | Map<uint16, uint64> | Channel ID → offset of its Message Index record; empty = none. |
/// | 8     | message_index_length  | uint64              | Total length of the Message Index records after the chunk. |
/// | 4 + N | compression           | String              | As in the chunk. |
/// | 8     | compressed_size       | uint64              | Size of the chunk `records` field. |
/// | 8     | uncompressed_size     | uint64              | Decompressed size of `records`. |
public struct ChunkIndex: Sendable, Hashable {
    public var messageStartTime: UInt64
    public var messageEndTime: UInt64
    public var chunkStartOffset: UInt64
    public var chunkLength: UInt64
    public var messageIndexOffsets: [UInt16: UInt64]
    public var messageIndexLength: UInt64
    public var compression: String
    public var compressedSize: UInt64
    public var uncompressedSize: UInt64

    init(messageStartTime: UInt64, messageEndTime: UInt64, chunkStartOffset: UInt64, chunkLength: UInt64,
         messageIndexOffsets: [UInt16: UInt64], messageIndexLength: UInt64, compression: String,
         compressedSize: UInt64, uncompressedSize: UInt64) {
        self.messageStartTime = messageStartTime
        self.messageEndTime = messageEndTime
        self.chunkStartOffset = chunkStartOffset
        self.chunkLength = chunkLength
        self.messageIndexOffsets = messageIndexOffsets
        self.messageIndexLength = messageIndexLength
        self.compression = compression
        self.compressedSize = compressedSize
        self.uncompressedSize = uncompressedSize
    }

    init(decoding r: inout FieldReader) throws {
        messageStartTime = try r.u64("message_start_time")
        messageEndTime = try r.u64("message_end_time")
        chunkStartOffset = try r.u64("chunk_start_offset")
        chunkLength = try r.u64("chunk_length")
        messageIndexOffsets = try r.u16u64Map("message_index_offsets")
        messageIndexLength = try r.u64("message_index_length")
        compression = try r.string("compression")
        compressedSize = try r.u64("compressed_size")
        uncompressedSize = try r.u64("uncompressed_size")
    }

    func encode(into w: inout ByteWriter) {
        let start = w.beginRecord(.chunkIndex)
        w.u64(messageStartTime)
        w.u64(messageEndTime)
        w.u64(chunkStartOffset)
        w.u64(chunkLength)
        w.u16u64Map(messageIndexOffsets)
        w.u64(messageIndexLength)
        w.string(compression)
        w.u64(compressedSize)
        w.u64(uncompressedSize)
        w.endRecord(start)
    }
}
