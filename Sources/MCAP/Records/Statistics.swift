/// Statistics (op=0x0B): counts and time range of the whole file; at most one, in the summary,
/// after the Channel records it counts (spec "Statistics").
///
/// | Bytes | Name                   | Type                | Description |
/// |-------|------------------------|---------------------|-------------|
/// | 8     | message_count          | uint64              | Message records in the file. |
/// | 2     | schema_count           | uint16              | Unique schema IDs, not counting 0. |
/// | 4     | channel_count          | uint32              | Unique channel IDs. |
/// | 4     | attachment_count       | uint32              | Attachment records. |
/// | 4     | metadata_count         | uint32              | Metadata records. |
/// | 4     | chunk_count            | uint32              | Chunk records. |
/// | 8     | message_start_time     | Timestamp           | Earliest log_time; 0 if no messages. |
/// | 8     | message_end_time       | Timestamp           | Latest log_time; 0 if no messages. |
/// | 4 + N | channel_message_counts | Map<uint16, uint64> | Channel ID → message count; empty = not available. |
public struct Statistics: Sendable, Hashable {
    public var messageCount: UInt64 = 0
    public var schemaCount: UInt16 = 0
    public var channelCount: UInt32 = 0
    public var attachmentCount: UInt32 = 0
    public var metadataCount: UInt32 = 0
    public var chunkCount: UInt32 = 0
    public var messageStartTime: UInt64 = 0
    public var messageEndTime: UInt64 = 0
    public var channelMessageCounts: [UInt16: UInt64] = [:]

    public init() {}

    init(decoding r: inout FieldReader) throws {
        messageCount = try r.u64("message_count")
        schemaCount = try r.u16("schema_count")
        channelCount = try r.u32("channel_count")
        attachmentCount = try r.u32("attachment_count")
        metadataCount = try r.u32("metadata_count")
        chunkCount = try r.u32("chunk_count")
        messageStartTime = try r.u64("message_start_time")
        messageEndTime = try r.u64("message_end_time")
        channelMessageCounts = try r.u16u64Map("channel_message_counts")
    }

    func encode(into w: inout ByteWriter) {
        let start = w.beginRecord(.statistics)
        w.u64(messageCount)
        w.u16(schemaCount)
        w.u32(channelCount)
        w.u32(attachmentCount)
        w.u32(metadataCount)
        w.u32(chunkCount)
        w.u64(messageStartTime)
        w.u64(messageEndTime)
        w.u16u64Map(channelMessageCounts)
        w.endRecord(start)
    }
}
