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
    /// ```
    public struct Config: Decodable, Sendable, Hashable {
        public enum Pace: String, Decodable, Sendable, Hashable {
            /// Frames leave at their recorded receive-time spacing (divided by `rate`), paced by
            /// `ReplayClock` on absolute deadlines: what `trackbag play` uses.
            case original
            /// As fast as the pipeline takes them, in large batches: offline processing.
            case fast
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

        enum CodingKeys: String, CodingKey {
            case path, pace, rate, loop, start, end, tracks
            case batchFrames = "batch_frames"
        }

        public init(path: String, pace: Pace = .fast, rate: Double = 1, loop: Bool = false, start: TimeOffset? = nil,
                    end: TimeOffset? = nil, tracks: [String]? = nil, batchFrames: Int = 4096) {
            self.init(paths: [path], pace: pace, rate: rate, loop: loop, start: start, end: end, tracks: tracks, batchFrames: batchFrames)
        }

        /// `paths` must not be empty.
        public init(paths: [String], pace: Pace = .fast, rate: Double = 1, loop: Bool = false, start: TimeOffset? = nil,
                    end: TimeOffset? = nil, tracks: [String]? = nil, batchFrames: Int = 4096) {
            precondition(!paths.isEmpty, "a recording source needs a file")
            self.paths = paths
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
            if let list = try? c.decode([String].self, forKey: .path) {
                guard !list.isEmpty else {
                    throw DecodingError.dataCorruptedError(forKey: .path, in: c, debugDescription: "path: the list of files is empty")
                }
                paths = list
            } else {
                paths = [try c.decode(String.self, forKey: .path)]
            }
            pace = try c.decodeIfPresent(Pace.self, forKey: .pace) ?? .fast
            rate = try c.decodeIfPresent(Double.self, forKey: .rate) ?? 1
            loop = try c.decodeIfPresent(Bool.self, forKey: .loop) ?? false
            start = try c.decodeIfPresent(TimeOffset.self, forKey: .start)
            end = try c.decodeIfPresent(TimeOffset.self, forKey: .end)
            tracks = try c.decodeIfPresent([String].self, forKey: .tracks)
            batchFrames = try c.decodeIfPresent(Int.self, forKey: .batchFrames) ?? 4096
            guard rate > 0, rate.isFinite else {
                throw DecodingError.dataCorruptedError(forKey: .rate, in: c, debugDescription: "rate must be a number > 0, got \(rate)")
            }
            guard batchFrames > 0 else {
                throw DecodingError.dataCorruptedError(forKey: .batchFrames, in: c, debugDescription: "batch_frames must be > 0")
            }
        }
    }
}
