/// Channel (op=0x04): a stream of messages on a topic.
///
/// | Bytes | Name             | Type                | Description |
/// |-------|------------------|---------------------|-------------|
/// | 2     | id               | uint16              | Unique within the file. |
/// | 2     | schema_id        | uint16              | Schema of the messages; 0 = none. |
/// | 4 + N | topic            | String              | The channel topic. |
/// | 4 + N | message_encoding | String              | `json`, `protobuf`, `cdr`…; see the registry. |
/// | 4 + N | metadata         | Map<string, string> | Metadata about the channel. |
public struct Channel: Sendable, Hashable {
    public var id: UInt16
    public var schemaId: UInt16
    public var topic: String
    public var messageEncoding: String
    public var metadata: [String: String]

    public init(id: UInt16, schemaId: UInt16, topic: String, messageEncoding: String,
                metadata: [String: String] = [:]) {
        self.id = id
        self.schemaId = schemaId
        self.topic = topic
        self.messageEncoding = messageEncoding
        self.metadata = metadata
    }

    init(decoding r: inout FieldReader) throws {
        id = try r.u16("id")
        schemaId = try r.u16("schema_id")
        topic = try r.string("topic")
        messageEncoding = try r.string("message_encoding")
        metadata = try r.stringMap("metadata")
    }

    func encode(into w: inout ByteWriter) {
        let start = w.beginRecord(.channel)
        w.u16(id)
        w.u16(schemaId)
        w.string(topic)
        w.string(messageEncoding)
        w.stringMap(metadata)
        w.endRecord(start)
    }
}
