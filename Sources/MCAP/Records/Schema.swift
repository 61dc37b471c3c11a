/// Schema (op=0x03): how messages of channels that refer to it are defined.
///
/// | Bytes | Name     | Type                         | Description |
/// |-------|----------|------------------------------|-------------|
/// | 2     | id       | uint16                       | Unique within the file; never 0. |
/// | 4 + N | name     | String                       | Identifier of the schema. |
/// | 4 + N | encoding | String                       | `protobuf`, `jsonschema`, `ros2msg`…; empty = no schema. |
/// | 4 + N | data     | uint32 length-prefixed Bytes | The schema itself, in `encoding`. |
///
/// A Schema with id 0 is invalid and readers ignore it (spec "Schema").
public struct Schema: Sendable, Hashable {
    public var id: UInt16
    public var name: String
    public var encoding: String
    public var data: [UInt8]

    public init(id: UInt16, name: String, encoding: String, data: [UInt8]) {
        self.id = id
        self.name = name
        self.encoding = encoding
        self.data = data
    }

    init(decoding r: inout FieldReader) throws {
        id = try r.u16("id")
        name = try r.string("name")
        encoding = try r.string("encoding")
        data = try r.bytes32("data")
    }

    func encode(into w: inout ByteWriter) {
        let start = w.beginRecord(.schema)
        w.u16(id)
        w.string(name)
        w.string(encoding)
        w.bytes32(data)
        w.endRecord(start)
    }
}
