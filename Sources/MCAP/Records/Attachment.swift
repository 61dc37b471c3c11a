/// Attachment (op=0x09): an auxiliary file (calibration, text…); never inside a chunk.
///
/// | Bytes | Name        | Type                         | Description |
/// |-------|-------------|------------------------------|-------------|
/// | 8     | log_time    | Timestamp                    | When it was recorded. |
/// | 8     | create_time | Timestamp                    | When it was created; 0 if unknown. |
/// | 4 + N | name        | String                       | e.g. `scene1.jpg`. |
/// | 4 + N | media_type  | String                       | e.g. `text/plain`. |
/// | 8 + N | data        | uint64 length-prefixed Bytes | The attachment. |
/// | 4     | crc         | uint32                       | CRC32 of all preceding fields; 0 = do not check. |
public struct Attachment: Sendable, Hashable {
    public var logTime: UInt64
    public var createTime: UInt64
    public var name: String
    public var mediaType: String
    public var data: [UInt8]

    public init(logTime: UInt64, createTime: UInt64, name: String, mediaType: String, data: [UInt8]) {
        self.logTime = logTime
        self.createTime = createTime
        self.name = name
        self.mediaType = mediaType
        self.data = data
    }

    /// Decodes and, when `validateCRC`, checks the trailing CRC over the preceding fields.
    init(decoding r: inout FieldReader, validateCRC: Bool) throws {
        logTime = try r.u64("log_time")
        createTime = try r.u64("create_time")
        name = try r.string("name")
        mediaType = try r.string("media_type")
        let range = try r.range64("data")
        data = Array(r.bytes[range])
        let covered = r.position
        let crc = try r.u32("crc")
        if validateCRC && crc != 0 {
            let actual = CRC32.checksum(UnsafeRawBufferPointer(rebasing: r.bytes[0..<covered]))
            guard actual == crc else {
                throw MCAPError(.crcMismatch, "Attachment '\(name)': stored CRC \(crc), computed \(actual)",
                                offset: r.baseOffset)
            }
        }
    }

    func encode(into w: inout ByteWriter) {
        let start = w.beginRecord(.attachment)
        w.u64(logTime)
        w.u64(createTime)
        w.string(name)
        w.string(mediaType)
        w.u64(UInt64(data.count))
        w.raw(data)
        let crc = w.bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        w.u32(crc)
        w.endRecord(start)
    }
}
