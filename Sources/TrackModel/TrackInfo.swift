/// A data track as trackbag knows it: who published it, under what name, and what LiveKit said
/// about it (docs/WIRE.md, `DataTrackInfo`). Recorded in the `tracks` table; carried by every
/// pipeline frame so sinks learn tracks as frames arrive.
public struct TrackInfo: Sendable, Hashable, Codable {
    /// The fields, behind one shared, immutable box: every pipeline frame carries its track and
    /// every stage copies frames, so a copy retains one reference instead of each of the track's
    /// strings and arrays (four, seven with a schema), and a `Frame` stays small enough to
    /// move cheaply. Setting a field makes a new box (copy on write); tracks change rarely.
    @usableFromInline
    struct Fields: Sendable, Hashable {
        @usableFromInline var identity: String
        @usableFromInline var name: String
        @usableFromInline var sid: String?
        @usableFromInline var pubHandle: UInt16?
        @usableFromInline var encryption: TrackEncryption
        @usableFromInline var frameEncoding: String?
        @usableFromInline var schema: SchemaInfo?
    }

    @usableFromInline
    final class Box: Sendable {
        @usableFromInline let fields: Fields
        @usableFromInline init(_ fields: Fields) { self.fields = fields }
    }

    @usableFromInline var box: Box

    /// Publisher's participant identity.
    @inlinable public var identity: String {
        get { box.fields.identity }
        set { var f = box.fields; f.identity = newValue; box = Box(f) }
    }
    /// Track name, unique per publisher (1…256 characters on the wire).
    @inlinable public var name: String {
        get { box.fields.name }
        set { var f = box.fields; f.name = newValue; box = Box(f) }
    }
    /// `DTR_…` sid when known (it changes when a publisher re-publishes after a reconnect).
    @inlinable public var sid: String? {
        get { box.fields.sid }
        set { var f = box.fields; f.sid = newValue; box = Box(f) }
    }
    /// The publisher's handle (1…65535) when known; stable across reconnects.
    @inlinable public var pubHandle: UInt16? {
        get { box.fields.pubHandle }
        set { var f = box.fields; f.pubHandle = newValue; box = Box(f) }
    }
    /// Whether payloads are end-to-end encrypted ciphertext (E2EE passthrough recordings).
    @inlinable public var encryption: TrackEncryption {
        get { box.fields.encryption }
        set { var f = box.fields; f.encryption = newValue; box = Box(f) }
    }
    /// Frame encoding as LiveKit and MCAP's registry name it: `json`, `cbor`, `msgpack`,
    /// `protobuf`, `cdr`, `ros1`, `flatbuffer`…; nil when unknown.
    @inlinable public var frameEncoding: String? {
        get { box.fields.frameEncoding }
        set { var f = box.fields; f.frameEncoding = newValue; box = Box(f) }
    }
    /// Schema of the frames, when the publisher declared one.
    @inlinable public var schema: SchemaInfo? {
        get { box.fields.schema }
        set { var f = box.fields; f.schema = newValue; box = Box(f) }
    }

    public init(identity: String, name: String, sid: String? = nil, pubHandle: UInt16? = nil,
                encryption: TrackEncryption = .none, frameEncoding: String? = nil, schema: SchemaInfo? = nil) {
        box = Box(Fields(identity: identity, name: name, sid: sid, pubHandle: pubHandle, encryption: encryption,
                         frameEncoding: frameEncoding, schema: schema))
    }

    /// What identifies the track across sessions and files: (identity, name).
    @inlinable public var key: TrackKey { TrackKey(identity: box.fields.identity, name: box.fields.name) }

    /// Copies of one track share their box, so they compare by reference first.
    public static func == (a: TrackInfo, b: TrackInfo) -> Bool {
        a.box === b.box || a.box.fields == b.box.fields
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(box.fields)
    }

    // The coded form is the one the stored fields had: the same keys, optional ones left out
    // when nil.
    enum CodingKeys: String, CodingKey {
        case identity, name, sid, pubHandle, encryption, frameEncoding, schema
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(identity: try c.decode(String.self, forKey: .identity),
                  name: try c.decode(String.self, forKey: .name),
                  sid: try c.decodeIfPresent(String.self, forKey: .sid),
                  pubHandle: try c.decodeIfPresent(UInt16.self, forKey: .pubHandle),
                  encryption: try c.decode(TrackEncryption.self, forKey: .encryption),
                  frameEncoding: try c.decodeIfPresent(String.self, forKey: .frameEncoding),
                  schema: try c.decodeIfPresent(SchemaInfo.self, forKey: .schema))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        let f = box.fields
        try c.encode(f.identity, forKey: .identity)
        try c.encode(f.name, forKey: .name)
        try c.encodeIfPresent(f.sid, forKey: .sid)
        try c.encodeIfPresent(f.pubHandle, forKey: .pubHandle)
        try c.encode(f.encryption, forKey: .encryption)
        try c.encodeIfPresent(f.frameEncoding, forKey: .frameEncoding)
        try c.encodeIfPresent(f.schema, forKey: .schema)
    }
}

/// (publisher identity, track name): how subscribers look a track up, and how globs match it.
public struct TrackKey: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var identity: String
    public var name: String
    public init(identity: String, name: String) {
        self.identity = identity
        self.name = name
    }
    /// `identity/name`, the form track globs match against.
    public var description: String { "\(identity)/\(name)" }
    public static func < (a: TrackKey, b: TrackKey) -> Bool {
        (a.identity, a.name) < (b.identity, b.name)
    }
}

public enum TrackEncryption: String, Sendable, Hashable, Codable {
    case none
    /// LiveKit E2EE: AES-128-GCM, key index and IV in packet extension 1 (docs/WIRE.md).
    case gcm
}

/// A schema as MCAP and LiveKit name it: name, encoding (`jsonschema`, `protobuf`, `ros2msg`…)
/// and the schema bytes.
public struct SchemaInfo: Sendable, Hashable, Codable {
    public var name: String
    public var encoding: String
    public var data: [UInt8]
    public init(name: String, encoding: String, data: [UInt8] = []) {
        self.name = name
        self.encoding = encoding
        self.data = data
    }
}
