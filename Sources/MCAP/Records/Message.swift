/// Message (op=0x05): one timestamped message on a channel. Never extended: `data` runs to the
/// end of the record.
///
/// | Bytes | Name         | Type      | Description |
/// |-------|--------------|-----------|-------------|
/// | 2     | channel_id   | uint16    | Channel of the message. |
/// | 4     | sequence     | uint32    | Counter from the publisher, else from the recorder. |
/// | 8     | log_time     | Timestamp | When it was recorded (ns). |
/// | 8     | publish_time | Timestamp | When it was published (ns); the log time if unknown. |
/// | N     | data         | Bytes     | The message, in the channel's encoding. |
public struct Message: Sendable, Hashable {
    public var channelId: UInt16
    public var sequence: UInt32
    public var logTime: UInt64
    public var publishTime: UInt64
    public var data: [UInt8]

    /// Bytes of the fixed fields.
    static let fixedSize = 22

    public init(channelId: UInt16, sequence: UInt32, logTime: UInt64, publishTime: UInt64, data: [UInt8]) {
        self.channelId = channelId
        self.sequence = sequence
        self.logTime = logTime
        self.publishTime = publishTime
        self.data = data
    }

    init(decoding r: inout FieldReader) throws {
        channelId = try r.u16("channel_id")
        sequence = try r.u32("sequence")
        logTime = try r.u64("log_time")
        publishTime = try r.u64("publish_time")
        data = r.rest()
    }

    func encode(into w: inout ByteWriter) {
        data.withUnsafeBytes {
            Message.encode(channelId: channelId, sequence: sequence, logTime: logTime,
                           publishTime: publishTime, data: $0, into: &w)
        }
    }

    /// The writer's hot path: no intermediate `Message` value, one reserve per record.
    static func encode(channelId: UInt16, sequence: UInt32, logTime: UInt64, publishTime: UInt64,
                       data: UnsafeRawBufferPointer, into w: inout ByteWriter) {
        w.bytes.reserveCapacity(w.bytes.count + recordPrefixSize + fixedSize + data.count)
        w.u8(Opcode.message.rawValue)
        w.u64(UInt64(fixedSize + data.count))
        w.u16(channelId)
        w.u32(sequence)
        w.u64(logTime)
        w.u64(publishTime)
        w.raw(data)
    }
}
