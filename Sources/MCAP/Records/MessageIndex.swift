/// Message Index (op=0x07): after each chunk, one per channel present in it.
///
/// | Bytes | Name       | Type                            | Description |
/// |-------|------------|---------------------------------|-------------|
/// | 2     | channel_id | uint16                          | Channel ID. |
/// | 4 + N | records    | Array<Tuple<Timestamp, uint64>> | log_time and offset of each message, offsets relative to the uncompressed chunk records. |
public struct MessageIndex: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var logTime: UInt64
        public var offset: UInt64
    }
    public var channelId: UInt16
    public var records: [Entry]

    init(channelId: UInt16, records: [Entry]) {
        self.channelId = channelId
        self.records = records
    }

    init(decoding r: inout FieldReader) throws {
        channelId = try r.u16("channel_id")
        records = try r.timeOffsetArray("records")
    }

    func encode(into w: inout ByteWriter) {
        Self.encode(channelId: channelId, flat: records.flatMap { [$0.logTime, $0.offset] }, into: &w)
    }

    /// Encodes from the writer's flat `[time, offset, time, offset…]` buffer.
    static func encode(channelId: UInt16, flat: [UInt64], into w: inout ByteWriter) {
        let start = w.beginRecord(.messageIndex)
        w.u16(channelId)
        w.u32(UInt32(flat.count * 8))
        w.bytes.reserveCapacity(w.bytes.count + flat.count * 8)
        for v in flat { w.u64(v) }
        w.endRecord(start)
    }
}
