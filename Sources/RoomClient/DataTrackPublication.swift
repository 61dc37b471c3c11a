import LiveKitProtocol

/// How frames of a data track are encoded (`DataTrackFrameEncoding`): one of LiveKit's
/// well-known encodings or a custom name.
public enum DataTrackFrameEncoding: Sendable, Hashable {
    case ros1, cdr, protobuf, flatbuffer, cbor, msgpack, json
    case custom(String)

    var wire: Livekit_DataTrackFrameEncoding {
        var encoding = Livekit_DataTrackFrameEncoding()
        switch self {
        case .ros1: encoding.wellKnown = .ros1
        case .cdr: encoding.wellKnown = .cdr
        case .protobuf: encoding.wellKnown = .protobuf
        case .flatbuffer: encoding.wellKnown = .flatbuffer
        case .cbor: encoding.wellKnown = .cbor
        case .msgpack: encoding.wellKnown = .msgpack
        case .json: encoding.wellKnown = .json
        case .custom(let name): encoding.custom = name
        }
        return encoding
    }

    /// The encoding by the name `TrackInfo.frameEncoding` and MCAP's registry use (`json`,
    /// `cbor`…); nil for no name.
    public init?(name: String?) {
        switch name {
        case nil, "": return nil
        case "ros1": self = .ros1
        case "cdr": self = .cdr
        case "protobuf": self = .protobuf
        case "flatbuffer": self = .flatbuffer
        case "cbor": self = .cbor
        case "msgpack": self = .msgpack
        case "json": self = .json
        case let other?: self = .custom(other)
        }
    }

    /// The registry name (`init(name:)`'s inverse).
    public var name: String {
        switch self {
        case .ros1: "ros1"
        case .cdr: "cdr"
        case .protobuf: "protobuf"
        case .flatbuffer: "flatbuffer"
        case .cbor: "cbor"
        case .msgpack: "msgpack"
        case .json: "json"
        case .custom(let name): name
        }
    }

    init?(wire: Livekit_DataTrackFrameEncoding) {
        switch wire.value {
        case .wellKnown(let known)?:
            switch known {
            case .ros1: self = .ros1
            case .cdr: self = .cdr
            case .protobuf: self = .protobuf
            case .flatbuffer: self = .flatbuffer
            case .cbor: self = .cbor
            case .msgpack: self = .msgpack
            case .json: self = .json
            case .unspecified, .UNRECOGNIZED: return nil
            }
        case .custom(let name)?: self = .custom(name)
        case nil: return nil
        }
    }
}

/// What is known of a published data track: ours (`LocalDataTrack`) or a remote participant's.
/// The sid changes on every (re-)publication; (publisher identity, handle) does not.
public struct DataTrackPublication: Sendable, Hashable {
    /// The publisher's `pub_handle` (1…65535).
    public var handle: UInt16
    public var name: String
    /// Server-assigned `DTR_…`; empty until the server confirmed the publication.
    public var sid: String
    public var encrypted: Bool
    public var frameEncoding: DataTrackFrameEncoding?
    /// Schema name (`DataTrackSchemaId.name`), if the publisher gave one.
    public var schema: String?
    /// How the schema is written (`DataTrackSchemaId.encoding`), by MCAP's registry name
    /// (`ros2msg`, `protobuf`, `jsonschema`…, else the custom name); nil when not given.
    public var schemaEncoding: String?

    public init(handle: UInt16, name: String, sid: String = "", encrypted: Bool = false,
                frameEncoding: DataTrackFrameEncoding? = nil, schema: String? = nil, schemaEncoding: String? = nil) {
        self.handle = handle
        self.name = name
        self.sid = sid
        self.encrypted = encrypted
        self.frameEncoding = frameEncoding
        self.schema = schema
        self.schemaEncoding = schemaEncoding
    }

    /// Reads a `DataTrackInfo`; nil when its handle is out of range (a server bug we skip over).
    init?(_ info: Livekit_DataTrackInfo) {
        guard let handle = UInt16(exactly: info.pubHandle), handle != 0 else { return nil }
        self.init(handle: handle, name: info.name, sid: info.sid, encrypted: info.encryption == .gcm,
                  frameEncoding: info.hasFrameEncoding ? DataTrackFrameEncoding(wire: info.frameEncoding) : nil,
                  schema: info.hasSchema && !info.schema.name.isEmpty ? info.schema.name : nil,
                  schemaEncoding: info.hasSchema && info.schema.hasEncoding ? Self.schemaEncodingName(info.schema.encoding) : nil)
    }

    /// LiveKit's well-known schema encodings by the names MCAP's registry gives them.
    static let wellKnownSchemaEncodings: [(String, Livekit_DataTrackSchemaEncoding.WellKnownSchemaEncoding)] = [
        ("protobuf", .protobuf), ("flatbuffer", .flatbuffer), ("ros1msg", .ros1Msg), ("ros2msg", .ros2Msg),
        ("ros2idl", .ros2Idl), ("omgidl", .omgIdl), ("jsonschema", .jsonSchema),
    ]

    /// The wire form of a schema encoding name: well-known when LiveKit names it, else custom.
    static func wireSchemaEncoding(_ name: String) -> Livekit_DataTrackSchemaEncoding {
        var encoding = Livekit_DataTrackSchemaEncoding()
        if let known = wellKnownSchemaEncodings.first(where: { $0.0 == name }) {
            encoding.wellKnown = known.1
        } else {
            encoding.custom = name
        }
        return encoding
    }

    /// `wireSchemaEncoding`'s inverse; nil for unspecified or unknown well-known values.
    static func schemaEncodingName(_ wire: Livekit_DataTrackSchemaEncoding) -> String? {
        switch wire.value {
        case .wellKnown(let known)?: return wellKnownSchemaEncodings.first(where: { $0.1 == known })?.0
        case .custom(let name)?: return name.isEmpty ? nil : name
        case nil: return nil
        }
    }
}
