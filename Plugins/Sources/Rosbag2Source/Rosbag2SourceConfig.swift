import Pipeline

extension Rosbag2Source {
    /// Options of a `rosbag2` source (docs/rosbag2.md):
    ///
    /// ```yaml
    /// sources:
    ///   bag:
    ///     type: rosbag2
    ///     path: run_2025_06_01     # required: a bag directory, its metadata.yaml, or one .db3/.mcap file
    ///     identity: ros2           # optional: publisher identity for topics that name none (`/imu`)
    ///     batch_size: 4096         # optional: most frames per batch sent downstream
    /// ```
    public struct Config: Decodable, Sendable, Equatable {
        public var path: String
        /// Publisher identity of topics with one level (`/imu` → `ros2/imu`); `/robot/imu`
        /// becomes `robot/imu`, as MCAP topics do (schemas/mcap-mapping.md).
        public var identity: String
        public var batchSize: Int

        public init(path: String, identity: String = "ros2", batchSize: Int = 4096) {
            self.path = path
            self.identity = identity
            self.batchSize = batchSize
        }

        enum CodingKeys: String, CodingKey {
            case path, identity
            case batchSize = "batch_size"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            path = try c.decode(String.self, forKey: .path)
            identity = try c.decodeIfPresent(String.self, forKey: .identity) ?? "ros2"
            batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? 4096
            guard batchSize >= 1 else {
                throw DecodingError.dataCorruptedError(forKey: .batchSize, in: c, debugDescription: "must be at least 1")
            }
        }
    }

    public static let registration = StageRegistration(
        type: "rosbag2", kind: .source,
        summary: "Reads a ROS 2 bag (rosbag2: SQLite3 .db3 or MCAP storage, split files in order) as frames, one track per topic."
    ) { options, _ in
        .source(try Rosbag2Source(config: options.decode(Config.self)))
    }
}
