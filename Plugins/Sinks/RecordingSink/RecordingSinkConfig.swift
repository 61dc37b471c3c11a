import Pipeline
import Recording
import TrackModel

extension RecordingSink {
    /// Options of a `type: recording` sink.
    ///
    /// ```yaml
    /// sinks:
    ///   archive:
    ///     type: recording
    ///     inputs: [imu_only]
    ///     path: "recordings/{room}-{date}.tbag"
    ///     room: lab
    ///     zstd_level: 1
    ///     split: {size: "512MiB", duration: "10m"}
    /// ```
    public struct Config: Decodable, Sendable, Hashable {
        /// Output path template. `{date}`: UTC time the file is opened, `20261126-132240`;
        /// `{room}`: the `room` option (`room` when unset); `{part}`: 1, 2, 3… when splitting.
        /// When `split` is set and the template has no `{part}`, `-{part}` goes before the
        /// extension.
        public var path: String
        /// Stored in the file's meta and used for `{room}`.
        public var room: String?
        /// zstd level of chunk bodies (1…22); 0 stores chunks uncompressed. Default 1, the
        /// level the write benchmark picked (the recording report gives the figures).
        public var zstdLevel: Int
        /// Start a new file once the current one holds this much (compressed) or spans this
        /// much receive time, whichever comes first.
        public var split: Split?
        /// Replace existing files instead of failing. Default false.
        public var overwrite: Bool
        /// Write a (valid, empty) file when no frame and no event arrived. Default true: a
        /// pipeline that ran over nothing still says so. `trackbag record` turns it off, so a
        /// recorder that never joined leaves no file behind.
        public var createWhenEmpty: Bool
        /// Extra `meta` entries written into every file (keys readers do not know are kept).
        public var meta: [String: String]

        public struct Split: Decodable, Sendable, Hashable {
            /// `512MiB`, `1GiB`, `100MB`, `65536` (bytes).
            public var size: ByteCount?
            /// `10m`, `1h`, `30s`: receive-time span of one file.
            public var duration: TimeOffset?
            public init(size: ByteCount? = nil, duration: TimeOffset? = nil) {
                self.size = size
                self.duration = duration
            }
        }

        enum CodingKeys: String, CodingKey {
            case path, room, split, overwrite, meta
            case zstdLevel = "zstd_level"
            case createWhenEmpty = "create_when_empty"
        }

        public init(path: String, room: String? = nil, zstdLevel: Int = 1, split: Split? = nil, overwrite: Bool = false,
                    createWhenEmpty: Bool = true, meta: [String: String] = [:]) {
            self.meta = meta
            self.createWhenEmpty = createWhenEmpty
            self.path = path
            self.room = room
            self.zstdLevel = zstdLevel
            self.split = split
            self.overwrite = overwrite
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            path = try c.decode(String.self, forKey: .path)
            room = try c.decodeIfPresent(String.self, forKey: .room)
            zstdLevel = try c.decodeIfPresent(Int.self, forKey: .zstdLevel) ?? 1
            split = try c.decodeIfPresent(Split.self, forKey: .split)
            overwrite = try c.decodeIfPresent(Bool.self, forKey: .overwrite) ?? false
            createWhenEmpty = try c.decodeIfPresent(Bool.self, forKey: .createWhenEmpty) ?? true
            meta = try c.decodeIfPresent([String: String].self, forKey: .meta) ?? [:]
            guard (0...22).contains(zstdLevel) else {
                throw DecodingError.dataCorruptedError(forKey: .zstdLevel, in: c, debugDescription: "zstd_level must be 0…22, got \(zstdLevel)")
            }
            guard !path.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .path, in: c, debugDescription: "path must not be empty")
            }
        }
    }
}

/// A size as config files write it: `512MiB`, `1GiB`, `100MB`, `64KiB`, `65536`.
public struct ByteCount: Sendable, Hashable, Decodable, CustomStringConvertible {
    public var bytes: Int64

    public init(bytes: Int64) { self.bytes = bytes }

    public init(parsing text: String) throws {
        let t = text.filter { !$0.isWhitespace }
        let digits = t.prefix { $0.isNumber || $0 == "." }
        let unit = t.dropFirst(digits.count)
        guard let value = Double(digits), value >= 0 else {
            throw RecordingError(.invalidArgument, "expected a size such as 512MiB, got '\(text)'", place: "column 1")
        }
        let scale: Double
        switch unit.lowercased() {
        case "", "b": scale = 1
        case "kb": scale = 1e3
        case "mb": scale = 1e6
        case "gb": scale = 1e9
        case "kib", "k": scale = 1024
        case "mib", "m": scale = 1024 * 1024
        case "gib", "g": scale = 1024 * 1024 * 1024
        default:
            throw RecordingError(.invalidArgument, "unknown size unit '\(unit)' in '\(text)' (use B, KB, MB, GB, KiB, MiB, GiB)",
                                 place: "column \(digits.count + 1)")
        }
        // Int64(_:) traps beyond Int64.max (an exabyte or so); a typed size never needs that.
        let total = (value * scale).rounded(.down)
        guard total.isFinite, total < 9.2e18 else {
            throw RecordingError(.invalidArgument, "size '\(text)' is too large (at most 8 EiB)", place: "column 1")
        }
        bytes = Int64(total)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int64.self) {
            guard n > 0 else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "a size must be > 0") }
            bytes = n
            return
        }
        let s = try c.decode(String.self)
        let parsed: ByteCount
        do { parsed = try ByteCount(parsing: s) } catch let e as RecordingError {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: e.message)
        }
        bytes = parsed.bytes
        guard bytes > 0 else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "a size must be > 0") }
    }

    public var description: String { "\(bytes) bytes" }
}
