/// Attachment Index (op=0x0A): in the summary, one per attachment.
///
/// | Bytes | Name        | Type      | Description |
/// |-------|-------------|-----------|-------------|
/// | 8     | offset      | uint64    | Offset of the attachment record. |
/// | 8     | length      | uint64    | Length of the record including opcode and length. |
/// | 8     | log_time    | Timestamp | When it was recorded. |
/// | 8     | create_time | Timestamp | When it was created; 0 if unknown. |
/// | 8     | data_size   | uint64    | Size of the attachment data. |
/// | 4 + N | name        | String    | Name of the attachment. |
/// | 4 + N | media_type  | String    | Media type of the attachment. |
public struct AttachmentIndex: Sendable, Hashable {
    public var offset: UInt64
    public var length: UInt64
    public var logTime: UInt64
    public var createTime: UInt64
    public var dataSize: UInt64
    public var name: String
    public var mediaType: String

    init(offset: UInt64, length: UInt64, logTime: UInt64, createTime: UInt64, dataSize: UInt64,
         name: String, mediaType: String) {
        self.offset = offset
        self.length = length
        self.logTime = logTime
        self.createTime = createTime
        self.dataSize = dataSize
        self.name = name
        self.mediaType = mediaType
    }

    init(decoding r: inout FieldReader) throws {
        offset = try r.u64("offset")
        length = try r.u64("length")
        logTime = try r.u64("log_time")
        createTime = try r.u64("create_time")
        dataSize = try r.u64("data_size")
        name = try r.string("name")
        mediaType = try r.string("media_type")
    }

    func encode(into w: inout ByteWriter) {
        let start = w.beginRecord(.attachmentIndex)
        w.u64(offset)
        w.u64(length)
        w.u64(logTime)
        w.u64(createTime)
        w.u64(dataSize)
        w.string(name)
        w.string(mediaType)
        w.endRecord(start)
    }
}
