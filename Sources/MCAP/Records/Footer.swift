/// Footer (op=0x02): the last record, followed only by the trailing magic. Never extended, so
/// its content is always 20 bytes and a reader finds it at `fileSize - 8 - 29`.
///
/// | Bytes | Name                 | Type   | Description |
/// |-------|----------------------|--------|-------------|
/// | 8     | summary_start        | uint64 | Offset of the first summary record; 0 when there is none. |
/// | 8     | summary_offset_start | uint64 | Offset of the first Summary Offset record; 0 when none. |
/// | 4     | summary_crc          | uint32 | CRC32 from summary start through `summary_offset_start`; 0 = not available. |
public struct Footer: Sendable, Hashable {
    public var summaryStart: UInt64
    public var summaryOffsetStart: UInt64
    public var summaryCRC: UInt32

    /// Opcode + length + 20 bytes of content.
    static let recordSize = 29

    public init(summaryStart: UInt64, summaryOffsetStart: UInt64, summaryCRC: UInt32) {
        self.summaryStart = summaryStart
        self.summaryOffsetStart = summaryOffsetStart
        self.summaryCRC = summaryCRC
    }

    init(decoding r: inout FieldReader) throws {
        summaryStart = try r.u64("summary_start")
        summaryOffsetStart = try r.u64("summary_offset_start")
        summaryCRC = try r.u32("summary_crc")
    }

    func encode(into w: inout ByteWriter) {
        let start = w.beginRecord(.footer)
        w.u64(summaryStart)
        w.u64(summaryOffsetStart)
        w.u32(summaryCRC)
        w.endRecord(start)
    }
}
