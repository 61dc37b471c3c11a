/// A data track as trackbag knows it: who published it, under what name, and what LiveKit said
/// about it (docs/WIRE.md, `DataTrackInfo`). Recorded in the `tracks` table; carried by every
/// pipeline frame so sinks learn tracks as frames arrive.
public struct TrackInfo: Sendable, Hashable, Codable {
    /// Publisher's participant identity.
    public var identity: String
    /// Track name, unique per publisher (1…256 characters on the wire).
    public var name: String
    /// `DTR_…` sid when known (it changes when a publisher re-publishes after a reconnect).
    public var sid: String?
    /// The publisher's handle (1…65535) when known; stable across reconnects.
    public var pubHandle: UInt16?
    /// Whether payloads are end-to-end encrypted ciphertext (E2EE passthrough recordings).
    public var encryption: TrackEncryption
    /// Frame encoding as LiveKit and MCAP's registry name it: `json`, `cbor`, `msgpack`,
    /// `protobuf`, `cdr`, `ros1`, `flatbuffer`…; nil when unknown.
    public var frameEncoding: String?
    /// Schema of the frames, when the publisher declared one.
    public var schema: SchemaInfo?

    public init(identity: String, name: String, sid: String? = nil, pubHandle: UInt16? = nil,
                encryption: TrackEncryption = .none, frameEncoding: String? = nil, schema: SchemaInfo? = nil) {
        self.identity = identity
        self.name = name
        self.sid = sid
        self.pubHandle = pubHandle
        self.encryption = encryption
        self.frameEncoding = frameEncoding
        self.schema = schema
    }

    /// What identifies the track across sessions and files: (identity, name).
    public var key: TrackKey { TrackKey(identity: identity, name: name) }
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
