import MCAP
import Pipeline

/// Options of the `mcap` source: reads any MCAP file (ours or another tool's) as frames.
///
/// ```yaml
/// sources:
///   log:
///     type: mcap
///     path: robot.mcap
///     identity: robot
/// ```
public struct MCAPSourceConfig: Decodable, Sendable, Equatable {
    /// File to read.
    public var path: String
    /// Publisher identity for channels without trackbag metadata whose topic names no identity
    /// (`/imu` or `imu`). Default `mcap`.
    public var identity: String
    /// Frames per emitted batch (default 4096).
    public var batchSize: Int
    /// Check chunk, data-section and summary CRCs (default true).
    public var validateCRCs: Bool
    /// Print progress (frames, MB/s, ETA) to stderr when it is a terminal.
    public var progress: Bool
    /// Salvage a file that ends early (a crashed recorder's): emit what was readable, then a
    /// `note` event saying where the file was cut, and end normally. Default false: a
    /// truncated file is an error. Corrupt data (CRC mismatch, malformed records) is always one.
    public var allowTruncated: Bool
    /// `file` (default): messages in file order, one chunk in memory at a time. `log-time`:
    /// by log_time through the chunk index, as MCAP's indexed readers give them (holds the
    /// chunks that overlap in time); a file without an index is read in file order.
    public var order: MCAPReader.Order

    enum CodingKeys: String, CodingKey {
        case path, identity, order
        case batchSize = "batch_size"
        case validateCRCs = "validate_crcs"
        case progress
        case allowTruncated = "allow_truncated"
    }

    public init(path: String, identity: String = "mcap", batchSize: Int = 4096, validateCRCs: Bool = true,
                progress: Bool = false, allowTruncated: Bool = false, order: MCAPReader.Order = .file) {
        self.order = order
        self.path = path
        self.identity = identity
        self.batchSize = batchSize
        self.validateCRCs = validateCRCs
        self.progress = progress
        self.allowTruncated = allowTruncated
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(path: try c.decode(String.self, forKey: .path),
                  identity: try c.decodeIfPresent(String.self, forKey: .identity) ?? "mcap",
                  batchSize: try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? 4096,
                  validateCRCs: try c.decodeIfPresent(Bool.self, forKey: .validateCRCs) ?? true,
                  progress: try c.decodeIfPresent(Bool.self, forKey: .progress) ?? false,
                  allowTruncated: try c.decodeIfPresent(Bool.self, forKey: .allowTruncated) ?? false,
                  order: try Self.order(c.decodeIfPresent(String.self, forKey: .order)))
    }

    /// `file` or `log-time` (nil: `file`), or an error naming the option.
    public static func order(_ text: String?) throws -> MCAPReader.Order {
        guard let text else { return .file }
        guard let order = MCAPReader.Order(rawValue: text) else {
            throw PipelineError(message: "order: expected file or log-time, got '\(text)'")
        }
        return order
    }
}
