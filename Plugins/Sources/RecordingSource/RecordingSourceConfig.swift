import Pipeline
import Recording
import TrackModel

extension RecordingSource {
    /// Options of a `type: recording` source.
    ///
    /// ```yaml
    /// sources:
    ///   replay:
    ///     type: recording
    ///     path: recordings/lab.tbag  # or a list: the parts of a split recording, in any order
    ///     pace: original        # or fast (default)
    ///     rate: 2.0
    ///     loop: false
    ///     start: 1.5s           # offsets from the file's first frame: 90, 1.5s, 250ms, 2m
    ///     end: 2m
    ///     tracks: ["robot-*/imu", "*/gps"]
    ///     clock: receive        # or user: pace by the publisher's user timestamps
    ///     user_timestamp_unit: us   # with clock: user, when the file does not say (ns, us, ms)
    ///     overload: slow        # or burst, drop: when frames cannot leave on time
    ///     overload_threshold: 50ms
    ///     latch: ["*/map", "*/robot_description"]   # state tracks: last frame sent on start and loop
    /// ```
    public struct Config: Decodable, Sendable, Hashable {
        public enum Pace: String, Decodable, Sendable, Hashable {
            /// Frames leave at their recorded receive-time spacing (divided by `rate`), paced by
            /// `ReplayClock` on absolute deadlines: what `trackbag play` uses.
            case original
            /// As fast as the pipeline takes them, in large batches: offline processing.
            case fast
        }

        /// Which time paces an `original` replay.
        public enum Clock: String, Decodable, Sendable, Hashable {
            /// The recorder's receive time (schemas/recording-format.md, "Clocks").
            case receive
            /// The publisher's user timestamp, for sessions recorded over a jittery link where
            /// receive times are smeared. A frame without one leaves right after the frame
            /// before it; one whose timestamp is behind an earlier frame's leaves at once.
            /// Frames still leave in recorded order.
            case user
        }

        /// What an `original` replay does with frames that cannot leave on time (a burst larger
        /// than the link, a rate the sender cannot keep).
        public enum Overload: String, Decodable, Sendable, Hashable {
            /// Slow the whole replay: a frame more than the threshold late moves every later
            /// deadline by its lateness, so all tracks keep their relative spacing (LCM's log
            /// player does this). The pacing report says by how much and in how many steps.
            case slow
            /// Send late frames at once to catch up (tracks bunch together).
            case burst
            /// Leave out frames already more than the threshold late; counted and reported.
            case drop
        }

        /// The `.tbag` files to read: one, or the parts of a split recording, which play one
        /// after another as one session (ordered by their first receive time; parts must not
        /// overlap in time).
        public var paths: [String]
        /// The first file: what messages about the input name.
        public var path: String { paths[0] }
        /// `original` or `fast`. Default `fast`: a pipeline over a file is offline work unless
        /// it says it replays; `trackbag play` sets `original` explicitly.
        public var pace: Pace
        /// Speed factor for `original` pace (2 = twice as fast). Must be > 0. Default 1.
        public var rate: Double
        /// Start again from `start` after `end` (until the pipeline is stopped). Default false.
        public var loop: Bool
        /// Offset from the file's first frame where replay begins. Default: the beginning.
        public var start: TimeOffset?
        /// Offset from the file's first frame where replay ends (inclusive). Default: the end.
        public var end: TimeOffset?
        /// `IDENTITY/NAME` globs; a frame is replayed when any matches. Default: every track.
        public var tracks: [String]?
        /// Most frames per emitted batch (fast pace fills them; original pace sends what is
        /// due). Default 4096.
        public var batchFrames: Int
        /// Globs of state tracks (a map, a robot description, a mode): when a replay begins
        /// after a track's first frame (`start`, every loop), the last frame of each such track
        /// before that position is sent at once, with its own user timestamp, so subscribers
        /// start from the state the session was in. Default: none.
        public var latch: [String]?
        /// `receive` (default) or `user`.
        public var clock: Clock
        /// Nanoseconds per user-timestamp tick with `clock: user`; nil: the file's
        /// `user_timestamp_unit`, which must then be known.
        public var userTimestampUnitNs: Int64?
        /// `slow` (default), `burst` or `drop`.
        public var overload: Overload
        /// Lateness that counts as overload. Default 50 ms: well above a busy machine's
        /// scheduling hiccups, well below what a person notices as a stall.
        public var overloadThreshold: TimeOffset

        enum CodingKeys: String, CodingKey {
            case path, pace, rate, loop, start, end, tracks
            case batchFrames = "batch_frames"
            case clock
            case userTimestampUnit = "user_timestamp_unit"
            case overload
            case overloadThreshold = "overload_threshold"
            case latch
        }

        /// Nanoseconds per tick of a user-timestamp unit name.
        public static func nanoseconds(perUserTimestampUnit name: String) -> Int64? {
            switch name {
            case "ns": 1
            case "us": 1_000
            case "ms": 1_000_000
            default: nil
            }
        }

        public init(path: String, pace: Pace = .fast, rate: Double = 1, loop: Bool = false, start: TimeOffset? = nil,
                    end: TimeOffset? = nil, tracks: [String]? = nil, batchFrames: Int = 4096) {
            self.init(paths: [path], pace: pace, rate: rate, loop: loop, start: start, end: end, tracks: tracks, batchFrames: batchFrames)
        }

        /// The default overload threshold, 50 ms.
        public static let defaultOverloadThreshold = TimeOffset(nanoseconds: 50_000_000)

        /// `paths` must not be empty.
        public init(paths: [String], pace: Pace = .fast, rate: Double = 1, loop: Bool = false, start: TimeOffset? = nil,
                    end: TimeOffset? = nil, tracks: [String]? = nil, batchFrames: Int = 4096, clock: Clock = .receive,
                    userTimestampUnitNs: Int64? = nil, overload: Overload = .slow,
                    overloadThreshold: TimeOffset = Config.defaultOverloadThreshold, latch: [String]? = nil) {
            precondition(!paths.isEmpty, "a recording source needs a file")
            self.paths = paths
            self.latch = latch
            self.clock = clock
            self.userTimestampUnitNs = userTimestampUnitNs
            self.overload = overload
            self.overloadThreshold = overloadThreshold
            self.pace = pace
            self.rate = rate
            self.loop = loop
            self.start = start
            self.end = end
            self.tracks = tracks
            self.batchFrames = batchFrames
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            // One decode of a type that takes either form: the options decoder records every
            // failed decode as a mistake of the config, so trying a list and then a string would
            // report a plain `path: file.tbag` as wrong.
            let list = try c.decode(OneOrMorePaths.self, forKey: .path).paths
            guard !list.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .path, in: c, debugDescription: "path: the list of files is empty")
            }
            paths = list
            pace = try c.decodeIfPresent(Pace.self, forKey: .pace) ?? .fast
            rate = try c.decodeIfPresent(Double.self, forKey: .rate) ?? 1
            loop = try c.decodeIfPresent(Bool.self, forKey: .loop) ?? false
            start = try c.decodeIfPresent(TimeOffset.self, forKey: .start)
            end = try c.decodeIfPresent(TimeOffset.self, forKey: .end)
            tracks = try c.decodeIfPresent([String].self, forKey: .tracks)
            batchFrames = try c.decodeIfPresent(Int.self, forKey: .batchFrames) ?? 4096
            clock = try c.decodeIfPresent(Clock.self, forKey: .clock) ?? .receive
            if let unit = try c.decodeIfPresent(String.self, forKey: .userTimestampUnit) {
                guard let ns = Self.nanoseconds(perUserTimestampUnit: unit) else {
                    throw DecodingError.dataCorruptedError(forKey: .userTimestampUnit, in: c,
                                                           debugDescription: "user_timestamp_unit must be ns, us or ms, got '\(unit)'")
                }
                userTimestampUnitNs = ns
            } else {
                userTimestampUnitNs = nil
            }
            overload = try c.decodeIfPresent(Overload.self, forKey: .overload) ?? .slow
            overloadThreshold = try c.decodeIfPresent(TimeOffset.self, forKey: .overloadThreshold) ?? Self.defaultOverloadThreshold
            latch = try c.decodeIfPresent([String].self, forKey: .latch)
            guard rate > 0, rate.isFinite else {
                throw DecodingError.dataCorruptedError(forKey: .rate, in: c, debugDescription: "rate must be a number > 0, got \(rate)")
            }
            guard batchFrames > 0 else {
                throw DecodingError.dataCorruptedError(forKey: .batchFrames, in: c, debugDescription: "batch_frames must be > 0")
            }
        }
    }
}

/// `path: FILE` or `path: [FILE, …]`.
struct OneOrMorePaths: Decodable {
    let paths: [String]

    init(from decoder: any Decoder) throws {
        if let one = try? decoder.singleValueContainer().decode(String.self) {
            paths = [one]
            return
        }
        var list = try decoder.unkeyedContainer()
        var paths: [String] = []
        while !list.isAtEnd { paths.append(try list.decode(String.self)) }
        self.paths = paths
    }
}
