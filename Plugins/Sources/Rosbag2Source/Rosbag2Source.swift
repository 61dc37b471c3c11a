import Codecs
import Foundation
import Logging
import MCAP
import Pipeline
import Rosbag2
import TrackModel

/// `rosbag2` source: a ROS 2 bag as frames, one track per topic (docs/rosbag2.md).
///
/// - Storage: SQLite3 (`*.db3`, read through `SQLite3Bag`: read-only, immutable) and MCAP
///   (`*.mcap`, through `MCAPReader` in log-time order). The split files of a bag are read one
///   after another in the order `metadata.yaml` lists them, as one session.
/// - Tracks: a topic becomes the track MCAP import makes of the same topic (`/imu` →
///   `IDENTITY/imu`, `/robot/imu` → `robot/imu`); its frame encoding is the topic's
///   serialization format (`cdr`), its schema the message type with the bag's definition
///   (`ros2msg` text), else the built-in definition of a common interface, else none (with a
///   warning naming the topic).
/// - Frames: payload = the stored message bytes, unchanged; receive time = the bag's timestamp
///   (ns); user timestamp = MCAP's `publish_time`, or for `.db3` the timestamp itself (what
///   rosbag2's MCAP storage writes as `publish_time` for such a message), so every frame has a
///   user timestamp in ns and MCAP export writes the bag's topics back as they were.
///
/// Memory: one row (SQLite) or the chunks overlapping in time (MCAP) at a time, plus one batch
/// of at most `batch_size` frames or `maximumBatchBytes` of payload.
public struct Rosbag2Source: SourceStage {
    public let config: Config
    public let layout: Rosbag2Layout
    /// Topics known before reading (from `metadata.yaml`, or a lone `.db3`'s `topics` table),
    /// for the recording meta.
    let knownTopics: [Rosbag2Layout.Topic]

    /// A batch is sent once its payloads reach this many bytes, whatever `batch_size` says, so
    /// a bag of camera images does not hold thousands of them at once.
    static let maximumBatchBytes = 8 << 20

    public init(config: Config) throws {
        guard config.batchSize > 0 else {
            throw PipelineError(message: "batch_size: must be positive, got \(config.batchSize)")
        }
        self.config = config
        layout = try Rosbag2Layout.resolve(path: config.path)
        // Every .db3 is opened once now, so a file that is not a bag (no tables, not SQLite)
        // fails before anything is written; its topics name the tracks when no metadata.yaml
        // lists them.
        var fromFiles: [Rosbag2Layout.Topic] = []
        for file in layout.files where file.storage == .sqlite3 {
            do {
                let bag = try SQLite3Bag(path: file.path)
                for t in bag.topics where !fromFiles.contains(where: { $0.name == t.name }) {
                    fromFiles.append(Rosbag2Layout.Topic(name: t.name, type: t.type, serializationFormat: t.serializationFormat,
                                                         offeredQoSProfiles: t.offeredQoSProfiles, messageCount: nil))
                }
            } catch {
                throw Self.pipelineError(error)
            }
        }
        knownTopics = layout.metadataPath == nil ? fromFiles : layout.topics
    }

    static func pipelineError(_ error: Rosbag2Error) -> PipelineError {
        PipelineError(message: error.message + (error.place.map { " (\($0))" } ?? ""), file: error.file)
    }

    public nonisolated var inputFiles: [String] {
        layout.files.map(\.path) + (layout.metadataPath.map { [$0] } ?? [])
    }

    /// The topic each track came from (`mcap.channels`, as an MCAP import keeps them), so
    /// `trackbag export --format mcap` writes the bag's topics back; and `ns` as the unit of
    /// every user timestamp.
    public nonisolated var sessionMetadata: [String: String] {
        var meta = [MCAPChannelOrigin.userTimestampUnitMetaKey: "ns", "rosbag2.path": config.path]
        var origins: [TrackKey: MCAPChannelOrigin] = [:]
        var clashes = Set<TrackKey>()
        for topic in knownTopics {
            let key = MCAPTrackMapping.trackKey(fromTopic: topic.name, fallbackIdentity: config.identity)
            var metadata: [String: String] = [:]
            // rosbag2's MCAP storage keeps the publishers' QoS as this channel metadata key.
            if !topic.offeredQoSProfiles.isEmpty { metadata["offered_qos_profiles"] = topic.offeredQoSProfiles }
            if let seen = origins[key], seen.topic != topic.name { clashes.insert(key) }
            origins[key] = MCAPChannelOrigin(identity: key.identity, track: key.name, topic: topic.name, metadata: metadata)
        }
        for key in clashes { origins[key] = nil }
        if !origins.isEmpty {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            if let data = try? encoder.encode(origins.keys.sorted().compactMap { origins[$0] }) {
                meta[MCAPChannelOrigin.metaKey] = String(decoding: data, as: UTF8.self)
            }
        }
        return meta
    }

    public func run(into output: any BatchEmitter) async throws {
        var tracks = TopicTracks(identity: config.identity, metadataTopics: knownTopics)
        var emitter = BatchBuilder(output: output, batchSize: config.batchSize,
                                   decompressor: layout.messagesCompressed ? MessageDecompressor() : nil)
        for file in layout.files {
            switch file.storage {
            case .sqlite3: try await readSQLite3(file.path, &tracks, &emitter)
            case .mcap: try await readMCAP(file.path, &tracks, &emitter)
            }
        }
        try await emitter.flush()
    }

    private func readSQLite3(_ path: String, _ tracks: inout TopicTracks, _ emitter: inout BatchBuilder) async throws {
        do {
            let bag = try SQLite3Bag(path: path)
            var byTopic: [TrackInfo] = []
            for topic in bag.topics {
                let definition = bag.definitions[topic.type]
                byTopic.append(tracks.track(topic: topic.name, type: topic.type, serializationFormat: topic.serializationFormat,
                                            definition: definition.map { ($0.encoding, Array($0.text.utf8)) }))
            }
            let cursor = try bag.messages()
            while let m = try cursor.next() {
                try await emitter.add(track: byTopic[m.topicIndex], payload: m.data,
                                      userTimestamp: UInt64(bitPattern: m.timestamp), receiveTimeNs: m.timestamp,
                                      file: path, topic: bag.topics[m.topicIndex].name)
            }
        } catch let error as Rosbag2Error {
            try await emitter.flush()
            throw Self.pipelineError(error)
        }
    }

    private func readMCAP(_ path: String, _ tracks: inout TopicTracks, _ emitter: inout BatchBuilder) async throws {
        do {
            // rosbag2's reader gives messages by time; chunks of one writer rarely overlap.
            let reader = try MCAPReader(path: path, options: .init(order: .logTime))
            var schemas: [UInt16: Schema] = [:]
            var channels: [UInt16: Channel] = [:]
            var byChannel: [UInt16: TrackInfo] = [:]
            while let record = try reader.next() {
                switch record {
                case .schema(let s):
                    schemas[s.id] = s
                case .channel(let c):
                    channels[c.id] = c
                    byChannel[c.id] = nil
                case .message(let m):
                    let track: TrackInfo
                    if let known = byChannel[m.channelId] {
                        track = known
                    } else {
                        guard let c = channels[m.channelId] else {
                            throw PipelineError(message: "message on channel \(m.channelId), which has no Channel record before it",
                                                file: path)
                        }
                        // Settled at the first message: a Schema record may come after its Channel.
                        let schema = schemas[c.schemaId]
                        track = tracks.track(topic: c.topic, type: schema?.name ?? "", serializationFormat: c.messageEncoding,
                                             definition: schema.map { ($0.encoding, $0.data) })
                        byChannel[m.channelId] = track
                    }
                    try await emitter.add(track: track, payload: m.data, userTimestamp: m.publishTime,
                                          receiveTimeNs: Int64(bitPattern: m.logTime), file: path,
                                          topic: channels[m.channelId]?.topic ?? "")
                case .metadata, .attachment:
                    break
                }
            }
        } catch let error as MCAPError {
            try await emitter.flush()
            throw PipelineError(message: "\(error)", file: path)
        }
    }
}

extension Rosbag2Source {
    /// One track per topic for the whole bag: settled by the first file that has the topic,
    /// so split files share their tracks.
    struct TopicTracks {
        let identity: String
        /// Types by topic, from `metadata.yaml`, for MCAP channels without a schema.
        let metadataTypes: [String: String]
        var byTopic: [String: TrackInfo] = [:]
        let logger = Logger(label: "rosbag2")

        init(identity: String, metadataTopics: [Rosbag2Layout.Topic]) {
            self.identity = identity
            var types: [String: String] = [:]
            for t in metadataTopics where !t.type.isEmpty { types[t.name] = t.type }
            metadataTypes = types
        }

        mutating func track(topic: String, type: String, serializationFormat: String,
                            definition: (encoding: String, data: [UInt8])?) -> TrackInfo {
            if let known = byTopic[topic] { return known }
            let type = type.isEmpty ? metadataTypes[topic] ?? "" : type
            let key = MCAPTrackMapping.trackKey(fromTopic: topic, fallbackIdentity: identity)
            let schema = Rosbag2Source.schema(type: type, definition: definition)
            if schema == nil {
                logger.warning("topic \(topic) (\(type.isEmpty ? "no type" : type)): the bag has no definition of its type and it is not a built-in common interface; imported without a schema (decode counts its frames as undecodable_no_schema; a schemas/ folder can supply it)")
            }
            let track = TrackInfo(identity: key.identity, name: key.name,
                                  frameEncoding: serializationFormat.isEmpty ? nil : serializationFormat, schema: schema)
            byTopic[topic] = track
            return track
        }
    }

    /// The schema of a message type: the bag's definition when it has a usable one (rosbag2
    /// writes encoding `unknown` and no text when it found none), else the built-in definition
    /// of a common interface (`ROS2MessageSchema.commonInterfaceNames`), else nil.
    static func schema(type: String, definition: (encoding: String, data: [UInt8])?) -> SchemaInfo? {
        guard !type.isEmpty else { return nil }
        if let definition, ["ros2msg", "ros2idl"].contains(definition.encoding), !definition.data.isEmpty {
            return SchemaInfo(name: type, encoding: definition.encoding, data: definition.data)
        }
        let parts = type.split(separator: "/")
        let short = parts.count == 3 && parts[1] == "msg" ? "\(parts[0])/\(parts[2])" : type
        guard ROS2MessageSchema.commonInterfaceNames.contains(short),
              let text = try? ROS2MessageSchema.bundledDefinition(of: type, definitions: [:]) else { return nil }
        return SchemaInfo(name: type, encoding: "ros2msg", data: Array(text.utf8))
    }

    /// Gathers frames into batches of at most `batchSize` frames or `maximumBatchBytes` bytes.
    struct BatchBuilder {
        let output: any BatchEmitter
        let batchSize: Int
        var batch = Batch()
        var bytes = 0
        var sequence: UInt64 = 0

        /// Undoes per-message compression; nil for an uncompressed bag.
        let decompressor: MessageDecompressor?

        init(output: any BatchEmitter, batchSize: Int, decompressor: MessageDecompressor?) {
            self.output = output
            self.batchSize = batchSize
            self.decompressor = decompressor
        }

        mutating func add(track: TrackInfo, payload stored: [UInt8], userTimestamp: UInt64?, receiveTimeNs: Int64,
                          file: String, topic: String) async throws {
            var payload = stored
            if let decompressor {
                do {
                    payload = try decompressor.decompress(stored)
                } catch {
                    try await flush()
                    throw PipelineError(message: "message on \(topic) at \(receiveTimeNs) ns: \(error)", file: file)
                }
            }
            batch.frames.append(Frame(track: track, payload: payload, userTimestamp: userTimestamp,
                                      receiveTimeNs: receiveTimeNs, sequence: sequence))
            sequence += 1
            bytes += payload.count
            if batch.frames.count >= batchSize || bytes >= Rosbag2Source.maximumBatchBytes { try await flush() }
        }

        mutating func flush() async throws {
            guard !batch.isEmpty else { return }
            let full = batch
            batch = Batch()
            bytes = 0
            try await output.emit(full)
        }
    }
}
