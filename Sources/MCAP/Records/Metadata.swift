/// Metadata (op=0x0C): arbitrary user key-value pairs under a name.
///
/// | Bytes | Name     | Type                | Description |
/// |-------|----------|---------------------|-------------|
/// | 4 + N | name     | String              | e.g. `my_company_name_hardware_info`. |
/// | 4 + N | metadata | Map<string, string> | e.g. `part_id`, `serial`. |
public struct Metadata: Sendable, Hashable {
    public var name: String
    public var metadata: [String: String]

    public init(name: String, metadata: [String: String]) {
        self.name = name
        self.metadata = metadata
    }

    init(decoding r: inout FieldReader) throws {
        name = try r.string("name")
        metadata = try r.stringMap("metadata")
    }

    func encode(into w: inout ByteWriter) {
        let start = w.beginRecord(.metadata)
        w.string(name)
        w.stringMap(metadata)
        w.endRecord(start)
    }
}
