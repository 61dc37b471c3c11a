/// Data End (op=0x0F): the last record of the data section, so a linear reader knows where the
/// summary (whose Channel records repeat the data section's) begins.
///
/// | Bytes | Name             | Type   | Description |
/// |-------|------------------|--------|-------------|
/// | 4     | data_section_crc | uint32 | CRC32 of every byte from the file start up to this record; 0 = not available. |
public struct DataEnd: Sendable, Hashable {
    public var dataSectionCRC: UInt32

    init(dataSectionCRC: UInt32) { self.dataSectionCRC = dataSectionCRC }

    init(decoding r: inout FieldReader) throws {
        dataSectionCRC = try r.u32("data_section_crc")
    }

    func encode(into w: inout ByteWriter) {
        let start = w.beginRecord(.dataEnd)
        w.u32(dataSectionCRC)
        w.endRecord(start)
    }
}
