/// Metadata Index (op=0x0D): in the summary, the location of one Metadata record.
///
/// | Bytes | Name   | Type   | Description |
/// |-------|--------|--------|-------------|
/// | 8     | offset | uint64 | Offset of the metadata record. |
/// | 8     | length | uint64 | Length of the record including opcode and length. |
/// | 4 + N | name   | String | Name of the metadata record. |
public struct MetadataIndex: Sendable, Hashable {
    public var offset: UInt64
    public var length: UInt64
    public var name: String

    init(offset: UInt64, length: UInt64, name: String) {
        self.offset = offset
        self.length = length
        self.name = name
    }

    init(decoding r: inout FieldReader) throws {
        offset = try r.u64("offset")
        length = try r.u64("length")
        name = try r.string("name")
    }

    func encode(into w: inout ByteWriter) {
        let start = w.beginRecord(.metadataIndex)
        w.u64(offset)
        w.u64(length)
        w.string(name)
        w.endRecord(start)
    }
}
