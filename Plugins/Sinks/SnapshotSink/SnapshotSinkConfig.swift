import Pipeline
import Recording
import TrackModel

extension SnapshotSink {
    /// Options of a `type: snapshot` sink.
    ///
    /// ```yaml
    /// sinks:
    ///   blackbox:
    ///     type: snapshot
    ///     inputs: [decoded]
    ///     directory: snapshots
    ///     pre: 10s
    ///     post: 5s
    ///     max_bytes: 256MiB
    ///     trigger: 'track == "events" && value.kind == "estop"'
    /// ```
    public struct Config: Decodable, Sendable {
        /// Where snapshot files go, each named `snapshot-YYYYMMDD-HHMMSS.mmm.tbag` after its
        /// trigger time (UTC), with `-2`, `-3`… rather than replacing a file.
        public var directory: String
        /// How much receive time before a trigger each file holds. Default 10s.
        public var pre: TimeOffset
        /// How much after the trigger (inclusive). Default 5s.
        public var post: TimeOffset
        /// Most bytes the ring may hold (payload bytes plus 64 per frame); the oldest frames go
        /// first and are counted. Default 256MiB.
        public var maxBytes: ByteCount
        /// A condition in the `filter` language; each frame for which it is true fires a trigger.
        public var trigger: String?
        /// SIGUSR1 fires a trigger. Default true.
        public var signal: Bool
        /// A frame on the `trackbag.snapshot` track (what `trackbag snapshot --room` sends)
        /// fires a trigger. Default true.
        public var commands: Bool
        /// Live input: close a window when the wall clock passes its end even if no frame
        /// arrives, and time signals by the wall clock. Default false (a replay's clock is its
        /// frames' receive times).
        public var wallClock: Bool
        /// zstd level of the files (0: uncompressed). Default 1.
        public var zstdLevel: Int
        /// Stored in each file's meta.
        public var room: String?

        enum CodingKeys: String, CodingKey {
            case directory, pre, post, trigger, signal, room, commands
            case maxBytes = "max_bytes"
            case wallClock = "wall_clock"
            case zstdLevel = "zstd_level"
        }

        public init(directory: String, pre: TimeOffset = TimeOffset(seconds: 10), post: TimeOffset = TimeOffset(seconds: 5),
                    maxBytes: ByteCount = ByteCount(bytes: 256 << 20), trigger: String? = nil, signal: Bool = true,
                    commands: Bool = true, wallClock: Bool = false, zstdLevel: Int = 1, room: String? = nil) {
            self.directory = directory
            self.pre = pre
            self.post = post
            self.maxBytes = maxBytes
            self.trigger = trigger
            self.signal = signal
            self.commands = commands
            self.wallClock = wallClock
            self.zstdLevel = zstdLevel
            self.room = room
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            directory = try c.decode(String.self, forKey: .directory)
            pre = try c.decodeIfPresent(TimeOffset.self, forKey: .pre) ?? TimeOffset(seconds: 10)
            post = try c.decodeIfPresent(TimeOffset.self, forKey: .post) ?? TimeOffset(seconds: 5)
            maxBytes = try c.decodeIfPresent(ByteCount.self, forKey: .maxBytes) ?? ByteCount(bytes: 256 << 20)
            trigger = try c.decodeIfPresent(String.self, forKey: .trigger)
            signal = try c.decodeIfPresent(Bool.self, forKey: .signal) ?? true
            commands = try c.decodeIfPresent(Bool.self, forKey: .commands) ?? true
            wallClock = try c.decodeIfPresent(Bool.self, forKey: .wallClock) ?? false
            zstdLevel = try c.decodeIfPresent(Int.self, forKey: .zstdLevel) ?? 1
            room = try c.decodeIfPresent(String.self, forKey: .room)
            guard (0...22).contains(zstdLevel) else {
                throw DecodingError.dataCorruptedError(forKey: .zstdLevel, in: c, debugDescription: "zstd_level must be 0…22, got \(zstdLevel)")
            }
            guard pre.nanoseconds >= 0 else {
                throw DecodingError.dataCorruptedError(forKey: .pre, in: c, debugDescription: "pre must not be negative")
            }
            guard post.nanoseconds >= 0 else {
                throw DecodingError.dataCorruptedError(forKey: .post, in: c, debugDescription: "post must not be negative")
            }
        }
    }
}
