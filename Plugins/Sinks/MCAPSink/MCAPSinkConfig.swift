import MCAP
import Pipeline
import TrackModel

/// Options of the `mcap` sink (schemas/mcap-mapping.md says what lands where).
///
/// ```yaml
/// sinks:
///   foxglove:
///     type: mcap
///     inputs: [room]
///     path: out.mcap
///     user_timestamp_unit: us
/// ```
public struct MCAPSinkConfig: Decodable, Sendable, Equatable {
    /// File to write (replaced if it exists).
    public var path: String
    /// Topic of each track's channel; `{identity}` and `{track}` are replaced.
    /// Default `/{identity}/{track}`.
    public var topicTemplate: String
    /// Chunk compression: `zstd` (default), `lz4` or `none`.
    public var compression: String
    /// zstd level (default 1, fastest) or lz4 level (default 0).
    public var compressionLevel: Int?
    /// Uncompressed bytes per chunk (default 1 MiB).
    public var chunkSize: Int
    /// `ns`, `us` or `ms`: the unit publishers use for user timestamps. When set, MCAP
    /// `publish_time` is the user timestamp converted to nanoseconds; when absent, `publish_time`
    /// is the receive time and user timestamps ride on companion messages. Either way the raw
    /// user timestamp comes back exactly on import.
    public var userTimestampUnit: String?
    /// Print progress (frames, MB/s) to stderr when it is a terminal.
    public var progress: Bool
    /// Channels to write as another tool had them: a track found here whose user timestamps
    /// map onto `publish_time` in ns gets the origin's topic and metadata (no trackbag keys),
    /// so an imported MCAP exports the same. Set by `trackbag export` from the recording's
    /// meta; not a YAML option.
    public var channelOrigins: [TrackKey: MCAPChannelOrigin] = [:]

    enum CodingKeys: String, CodingKey {
        case path
        case topicTemplate = "topic_template"
        case compression
        case compressionLevel = "compression_level"
        case chunkSize = "chunk_size"
        case userTimestampUnit = "user_timestamp_unit"
        case progress
    }

    public init(path: String, topicTemplate: String = "/{identity}/{track}", compression: String = "zstd",
                compressionLevel: Int? = nil, chunkSize: Int = 1 << 20, userTimestampUnit: String? = nil,
                progress: Bool = false) {
        self.path = path
        self.topicTemplate = topicTemplate
        self.compression = compression
        self.compressionLevel = compressionLevel
        self.chunkSize = chunkSize
        self.userTimestampUnit = userTimestampUnit
        self.progress = progress
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(path: try c.decode(String.self, forKey: .path),
                  topicTemplate: try c.decodeIfPresent(String.self, forKey: .topicTemplate) ?? "/{identity}/{track}",
                  compression: try c.decodeIfPresent(String.self, forKey: .compression) ?? "zstd",
                  compressionLevel: try c.decodeIfPresent(Int.self, forKey: .compressionLevel),
                  chunkSize: try c.decodeIfPresent(Int.self, forKey: .chunkSize) ?? (1 << 20),
                  userTimestampUnit: try c.decodeIfPresent(String.self, forKey: .userTimestampUnit),
                  progress: try c.decodeIfPresent(Bool.self, forKey: .progress) ?? false)
    }

    /// The writer options, or an error naming the bad option.
    func writerOptions() throws -> MCAPWriter.Options {
        let codec: Compression
        switch compression {
        case "zstd": codec = .zstd
        case "lz4": codec = .lz4
        case "none": codec = .none
        default: throw PipelineError(message: "compression: expected zstd, lz4 or none, got '\(compression)'")
        }
        guard chunkSize > 0 else {
            throw PipelineError(message: "chunk_size: must be positive, got \(chunkSize)")
        }
        if let unit = userTimestampUnit, MCAPTrackMapping.UserTimestampMode.scale(forUnit: unit) == nil {
            throw PipelineError(message: "user_timestamp_unit: expected ns, us or ms, got '\(unit)'")
        }
        return MCAPWriter.Options(compression: codec, compressionLevel: compressionLevel.map { Int32($0) },
                                  chunkSize: chunkSize)
    }
}
