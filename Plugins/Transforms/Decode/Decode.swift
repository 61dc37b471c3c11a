import Pipeline
import Recording
import TrackModel
import Codecs

/// Decodes each frame's payload into `Frame.value` so later stages can address fields
/// (`filter`'s `value.accel.z`) and the `jsonl` sink can write `"value"`. Payload, user
/// timestamp and everything else pass through untouched.
///
/// Protobuf and CDR frames need their track's schema: the definition the track carries
/// (recordings and MCAP files store it), else the one the schema registry resolves from the
/// track's schema name (docs/schemas.md). A decoder is built once per track and schema.
public actor Decode: ValueProducingStage, StageStatistics {
    public let config: Config
    /// Folders of users' schema files, read when the first frame needs one.
    let schemaDirectories: [String]
    private var registry: SchemaRegistry?
    /// Per track (identity, name): the decoder built for the track as it was last seen.
    private var decoders = TrackSlots<(track: TrackInfo, decoder: FrameDecoder)?>()
    private var undecodable: [UndecodableReason: UInt64] = [:]
    /// Frames of E2EE tracks kept as ciphertext: passed on undecoded (a `decrypt` stage first
    /// makes them decodable), never counted as bad payloads.
    private var encrypted: UInt64 = 0
    /// What JSON frames build when the stages downstream read only some paths (nil: the whole
    /// value). CBOR, MessagePack, Protobuf and CDR frames always decode whole: a superset of
    /// the selection, so what those stages see is the same.
    private var jsonSelector: JSONText.Selector?

    public init(config: Config, schemaDirectories: [String] = []) {
        self.config = config
        self.schemaDirectories = schemaDirectories
    }

    /// Why a frame kept no value; each is its own counter (`undecodable_<reason>`).
    public enum UndecodableReason: String, Sendable, CaseIterable {
        /// Neither the track nor the config names an encoding.
        case no_encoding
        /// An encoding `decode` does not read (ros1, flatbuffer…).
        case unsupported_encoding
        /// Protobuf or CDR without a schema the track carries or the registry knows.
        case no_schema
        /// A schema that does not compile (or does not define the named message type).
        case bad_schema
        /// The payload does not decode with the encoding and schema.
        case bad_payload
    }

    /// How one track's frames decode.
    enum FrameDecoder {
        case json, cbor, msgpack
        case protobuf(ProtobufDecoder)
        case cdr(CDRDecoder)
        case unusable(UndecodableReason)
    }

    /// The encoding for a track: its own when it declares one, else the configured one.
    func encodingName(for track: TrackInfo) -> String? {
        track.frameEncoding ?? config.encoding?.rawValue
    }

    /// Decodes one payload (internal so tests can drive it without a pipeline).
    static func decode(_ payload: [UInt8], as encoding: Encoding) throws -> Value {
        switch encoding {
        case .json: return try JSONText.parse(payload)
        case .cbor: return try CBOR.decode(payload)
        case .msgpack: return try MessagePack.decode(payload)
        case .protobuf, .cdr: throw CodecError("\(encoding.rawValue) needs a schema", at: 0)
        }
    }

    static func decode(_ payload: [UInt8], with decoder: FrameDecoder, selecting selector: JSONText.Selector? = nil) throws -> Value {
        switch decoder {
        case .json:
            if let selector { return try JSONText.parse(payload, selecting: selector) }
            return try JSONText.parse(payload)
        case .cbor: return try CBOR.decode(payload)
        case .msgpack: return try MessagePack.decode(payload)
        case .protobuf(let d): return try d.decode(payload)
        case .cdr(let d): return try d.decode(payload)
        case .unusable(let reason): throw CodecError("undecodable: \(reason.rawValue)", at: 0)
        }
    }

    func decoder(for track: TrackInfo) -> FrameDecoder {
        var slots = decoders
        decoders = TrackSlots()
        defer { decoders = slots }
        return Self.decoder(for: track, in: &slots) { buildDecoder(for: $0) }
    }

    /// The decoder of `track` in `slots`, built again when the track changed (a new sid,
    /// encoding or schema under the same identity and name).
    @inline(__always)
    static func decoder(for track: TrackInfo, in slots: inout TrackSlots<(track: TrackInfo, decoder: FrameDecoder)?>,
                        build: (TrackInfo) -> FrameDecoder) -> FrameDecoder {
        let slot = slots.slot(for: track, initial: nil)
        if let cached = slots.states[slot], cached.track == track { return cached.decoder }
        let built = build(track)
        slots.states[slot] = (track, built)
        return built
    }

    func buildDecoder(for track: TrackInfo) -> FrameDecoder {
        guard let name = encodingName(for: track) else { return .unusable(.no_encoding) }
        guard let encoding = Encoding(name: name) else { return .unusable(.unsupported_encoding) }
        switch encoding {
        case .json: return .json
        case .cbor: return .cbor
        case .msgpack: return .msgpack
        case .protobuf, .cdr:
            let schemaEncoding = encoding == .protobuf ? "protobuf" : "ros2msg"
            var schema = track.schema
            if schema == nil, let name = config.schema { schema = SchemaInfo(name: name, encoding: schemaEncoding) }
            guard var schema else { return .unusable(.no_schema) }
            if schema.data.isEmpty {
                if registry == nil { registry = SchemaRegistry.load(directories: schemaDirectories) }
                guard let known = registry?.resolve(name: schema.name, encoding: schemaEncoding) else {
                    return .unusable(.no_schema)
                }
                schema = known
            }
            do {
                if encoding == .protobuf {
                    return .protobuf(try ProtobufSchema(fileDescriptorSet: schema.data).decoder(for: schema.name))
                }
                return .cdr(CDRDecoder(schema: try ROS2MessageSchema(name: schema.name, definition: schema.data)))
            } catch {
                return .unusable(.bad_schema)
            }
        }
    }

    public func process(_ batch: consuming Batch) async throws -> Batch {
        // The tables and counters are worked on in locals and put back at the end: an actor's
        // stored `var` accessed per frame is a dynamic exclusivity check each time.
        var slots = decoders
        decoders = TrackSlots()
        var encrypted = self.encrypted
        var undecodable = self.undecodable
        defer {
            decoders = slots
            self.encrypted = encrypted
            self.undecodable = undecodable
        }
        let selector = jsonSelector
        let passUndecodable = config.onError == .pass
        // Values are set in the batch's own frames (it is ours): no frame is copied.
        batch.updateFrames { frame in
            if frame.track.encryption == .gcm {
                encrypted += 1
                return true
            }
            let decoder = Self.decoder(for: frame.track, in: &slots) { buildDecoder(for: $0) }
            let reason: UndecodableReason
            if case .unusable(let why) = decoder {
                reason = why
            } else if let value = try? Self.decode(frame.payload, with: decoder, selecting: selector) {
                // Why not keep the error text: a stream of bad frames would grow memory; the
                // count is what the run reports.
                frame.value = value
                return true
            } else {
                reason = .bad_payload
            }
            undecodable[reason, default: 0] += 1
            return passUndecodable
        }
        return batch
    }

    /// Decoding builds only what the stages downstream read. The selective JSON parse checks
    /// the whole payload as strictly as the full one, so the same frames count as `bad_payload`.
    public func produce(for reads: ValueReads) {
        jsonSelector = reads == .all ? nil : JSONText.Selector(reads.selection)
    }

    /// Decode reads no value itself; a frame it cannot decode keeps the value it came with.
    public nonisolated var valueReads: ValueReads { .none }

    public func statistics() async -> [(name: String, value: UInt64)] {
        var figures: [(name: String, value: UInt64)] = [("undecodable", undecodable.values.reduce(0, +))]
        for reason in UndecodableReason.allCases {
            if let n = undecodable[reason], n > 0 { figures.append(("undecodable_" + reason.rawValue, n)) }
        }
        figures.append(("encrypted_passed", encrypted))
        return figures
    }
}
