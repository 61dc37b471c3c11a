import MCAP
import Pipeline
import Recording
import TrackModel

/// `mcap` source: reads an MCAP file as frames and events. Channels written by our `mcap` sink
/// give back their exact `TrackInfo` and user timestamps; channels from other tools become
/// tracks named after their topic, with `publish_time` as the user timestamp (ns).
/// A truncated or corrupt file ends the source with an error saying how much was readable,
/// after the frames before the damage have been emitted.
public struct MCAPSource: SourceStage {
    public static let registration = StageRegistration(
        type: "mcap", kind: .source,
        summary: "Reads an MCAP file (ours or any tool's) as frames; metadata events come back as events."
    ) { options, _ in
        .source(try MCAPSource(config: options.decode(MCAPSourceConfig.self)))
    }

    public let config: MCAPSourceConfig
    private let reporter: ProgressReporter?

    /// `progress` overrides the config's `progress` flag with a reporter the caller made.
    public init(config: MCAPSourceConfig, progress: ProgressReporter? = nil) throws {
        guard config.batchSize > 0 else {
            throw PipelineError(message: "batch_size: must be positive, got \(config.batchSize)")
        }
        self.config = config
        reporter = progress
    }

    /// What a channel id means to us.
    private enum ChannelRole {
        case data(TrackInfo, MCAPTrackMapping.UserTimestampMode)
        /// A channel from another tool: publish_time is the user timestamp.
        case foreign(TrackInfo)
        case timestamps(of: UInt16)
    }

    public func run(into output: any BatchEmitter) async throws {
        let reader: MCAPReader
        do {
            reader = try MCAPReader(path: config.path, options: .init(validateCRCs: config.validateCRCs, order: config.order))
        } catch let e as MCAPError {
            throw PipelineError(message: "mcap source \(config.path): \(e)")
        }
        let progress = reporter
            ?? (config.progress ? ProgressReporter(label: "mcap import", totalBytes: reader.fileSize) : nil)
        var schemas: [UInt16: Schema] = [:]
        // Indexed by channel id, grown as channels appear (ids are u16). A channel's role (and
        // so its schema) is settled at its first message, not when it is announced: a Schema
        // record may come between the two.
        var channels: [Channel?] = []
        var roles: [ChannelRole?] = []
        /// Companion timestamp waiting for the next message of a data channel: (log_time, ts).
        var pending: [(UInt64, UInt64)?] = []
        var batch = Batch()
        batch.frames.reserveCapacity(config.batchSize)
        var sequence: UInt64 = 0
        var batchBytes = 0
        var lastReceive: Int64 = 0

        func flush() async throws {
            guard !batch.isEmpty else { return }
            let n = batch.frames.count
            try await output.emit(batch)
            progress?.advance(frames: n, bytes: batchBytes, position: reader.bytesReadable)
            batch = Batch()
            batch.frames.reserveCapacity(config.batchSize)
            batchBytes = 0
        }

        do {
            while let record = try reader.next() {
                switch record {
                case .schema(let s):
                    schemas[s.id] = s
                case .channel(let c):
                    if roles.count <= Int(c.id) {
                        channels += Array(repeating: nil, count: Int(c.id) + 1 - channels.count)
                        roles += Array(repeating: nil, count: Int(c.id) + 1 - roles.count)
                        pending += Array(repeating: nil, count: Int(c.id) + 1 - pending.count)
                    }
                    channels[Int(c.id)] = c
                    roles[Int(c.id)] = nil
                case .message(let m):
                    let id = Int(m.channelId)
                    guard id < channels.count, let c = channels[id] else {
                        throw PipelineError(message: "mcap source \(config.path): message on channel \(m.channelId), which has no Channel record before it")
                    }
                    let r: ChannelRole
                    if let known = roles[id] {
                        r = known
                    } else {
                        r = role(of: c, schemas: schemas)
                        roles[id] = r
                    }
                    let receive = Int64(bitPattern: m.logTime)
                    lastReceive = receive
                    switch r {
                    case .timestamps(let of):
                        if Int(of) < pending.count { pending[Int(of)] = (m.logTime, m.publishTime) }
                        continue
                    case .foreign(let track):
                        batch.frames.append(Frame(track: track, payload: m.data, userTimestamp: m.publishTime,
                                                  receiveTimeNs: receive, sequence: sequence))
                    case .data(let track, .publishTime(_, let scale)):
                        batch.frames.append(Frame(track: track, payload: m.data, userTimestamp: m.publishTime / scale,
                                                  receiveTimeNs: receive, sequence: sequence))
                    case .data(let track, .companion):
                        var ts: UInt64?
                        if let p = pending[id] {
                            pending[id] = nil
                            if p.0 == m.logTime { ts = p.1 }
                        }
                        batch.frames.append(Frame(track: track, payload: m.data, userTimestamp: ts,
                                                  receiveTimeNs: receive, sequence: sequence))
                    }
                    sequence += 1
                    batchBytes += m.data.count
                    if batch.frames.count >= config.batchSize { try await flush() }
                case .metadata(let md):
                    if md.name == MCAPTrackMapping.eventRecordName,
                       let event = MCAPTrackMapping.event(fromMetadata: md.metadata) {
                        batch.events.append(event)
                    }
                case .attachment:
                    break  // attachments have no place in a recording (schemas/mcap-mapping.md).
                }
            }
        } catch let e as MCAPError {
            if e.kind == .truncated && config.allowTruncated {
                batch.events.append(SessionEvent(timeNs: lastReceive, kind: .note,
                                                 detail: "mcap source \(config.path): \(e)"))
                try await flush()
                progress?.finish()
                return
            }
            try await flush()
            throw PipelineError(message: "mcap source \(config.path): \(e)")
        }
        try await flush()
        progress?.finish()
    }

    private func role(of c: Channel, schemas: [UInt16: Schema]) -> ChannelRole {
        let m = c.metadata
        if m[MCAPTrackMapping.roleKey] == MCAPTrackMapping.companionRole,
           let of = m[MCAPTrackMapping.companionOfKey].flatMap(UInt16.init) {
            return .timestamps(of: of)
        }
        let schema = schemas[c.schemaId].map { SchemaInfo(name: $0.name, encoding: $0.encoding, data: $0.data) }
        if let identity = m[MCAPTrackMapping.identityKey], let name = m[MCAPTrackMapping.trackKey],
           let mode = m[MCAPTrackMapping.userTimestampKey].flatMap(MCAPTrackMapping.UserTimestampMode.init(metadataValue:)) {
            let track = TrackInfo(
                identity: identity, name: name, sid: m[MCAPTrackMapping.sidKey],
                pubHandle: m[MCAPTrackMapping.pubHandleKey].flatMap(UInt16.init),
                encryption: m[MCAPTrackMapping.encryptionKey].flatMap(TrackEncryption.init(rawValue:)) ?? .none,
                frameEncoding: m[MCAPTrackMapping.frameEncodingKey], schema: schema)
            return .data(track, mode)
        }
        let key = MCAPTrackMapping.trackKey(fromTopic: c.topic, fallbackIdentity: config.identity)
        return .foreign(TrackInfo(identity: key.identity, name: key.name,
                                  frameEncoding: c.messageEncoding.isEmpty ? nil : c.messageEncoding,
                                  schema: schema))
    }
}

extension MCAPSource {
    public nonisolated var inputFiles: [String] { [config.path] }
}
