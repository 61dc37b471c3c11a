import Pipeline
import Recording
import TrackModel
import Codecs

/// Decodes each frame's payload into `Frame.value` so later stages can address fields
/// (`filter`'s `value.accel.z`) and the `jsonl` sink can write `"value"`. Payload, user
/// timestamp and everything else pass through untouched.
public actor Decode: TransformStage, StageStatistics {
    public let config: Config
    private var undecodable: UInt64 = 0
    /// Frames of E2EE tracks kept as ciphertext: passed on undecoded (a `decrypt` stage first
    /// makes them decodable), never counted as bad payloads.
    private var encrypted: UInt64 = 0

    public init(config: Config) {
        self.config = config
    }

    /// The encoding for a track: its own when we know it, else the configured one.
    func encoding(for track: TrackInfo) -> Encoding? {
        if let name = track.frameEncoding, let own = Encoding(name: name) { return own }
        return config.encoding
    }

    /// Decodes one payload (internal so tests can drive it without a pipeline).
    static func decode(_ payload: [UInt8], as encoding: Encoding) throws -> Value {
        switch encoding {
        case .json: return try JSONText.parse(payload)
        case .cbor: return try CBOR.decode(payload)
        case .msgpack: return try MessagePack.decode(payload)
        }
    }

    public func process(_ batch: Batch) async throws -> Batch {
        var out = Batch(frames: [], events: batch.events)
        out.frames.reserveCapacity(batch.frames.count)
        for var frame in batch.frames {
            if frame.track.encryption == .gcm {
                encrypted += 1
                out.frames.append(frame)
                continue
            }
            if let encoding = encoding(for: frame.track) {
                // Why not keep the error text: a stream of bad frames would grow memory; the
                // count is what the run reports.
                if let value = try? Self.decode(frame.payload, as: encoding) {
                    frame.value = value
                    out.frames.append(frame)
                    continue
                }
            }
            undecodable += 1
            if config.onError == .pass { out.frames.append(frame) }
        }
        return out
    }

    public func statistics() async -> [(name: String, value: UInt64)] {
        [("undecodable", undecodable), ("encrypted_passed", encrypted)]
    }
}
