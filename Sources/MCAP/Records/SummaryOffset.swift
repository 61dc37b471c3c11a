/// Summary Offset (op=0x0E): where one opcode's group of summary records lies.
///
/// | Bytes | Name         | Type   | Description |
/// |-------|--------------|--------|-------------|
/// | 1     | group_opcode | uint8  | Opcode of every record in the group. |
/// | 8     | group_start  | uint64 | Offset of the group's first record. |
/// | 8     | group_length | uint64 | Total length of the group's records. |
public struct SummaryOffset: Sendable, Hashable {
    public var groupOpcode: UInt8
    public var groupStart: UInt64
    public var groupLength: UInt64

    init(groupOpcode: UInt8, groupStart: UInt64, groupLength: UInt64) {
        self.groupOpcode = groupOpcode
        self.groupStart = groupStart
        self.groupLength = groupLength
    }

    init(decoding r: inout FieldReader) throws {
        groupOpcode = try r.u8("group_opcode")
        groupStart = try r.u64("group_start")
        groupLength = try r.u64("group_length")
    }

    func encode(into w: inout ByteWriter) {
        let start = w.beginRecord(.summaryOffset)
        w.u8(groupOpcode)
        w.u64(groupStart)
        w.u64(groupLength)
        w.endRecord(start)
    }
}
