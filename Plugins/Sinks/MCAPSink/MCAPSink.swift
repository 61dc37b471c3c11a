import MCAP
import Pipeline
import Recording
import TrackModel

/// `mcap` sink: writes frames to an MCAP file Foxglove and the `mcap` tools read. One channel
/// per track (more when a track's info changes or it mixes frames with and without user
/// timestamps), events as Metadata records. Mapping: schemas/mcap-mapping.md.
public actor MCAPSink: SinkStage {
    public static let registration = StageRegistration(
        type: "mcap", kind: .sink,
        summary: "Writes frames to an MCAP file: one channel per track, events as metadata records."
    ) { options, _ in
        .sink(try MCAPSink(config: options.decode(MCAPSinkConfig.self)))
    }

    /// The channels one distinct `TrackInfo` uses, created on first need.
    private struct TrackChannels {
        var info: TrackInfo
        var topic: String
        var schemaId: UInt16
        /// The `publish_time_<unit>` channel (only with a declared unit).
        var unitChannel: UInt16 = 0
        /// The `companion`-mode channel and its companion timestamp channel.
        var companionModeChannel: UInt16 = 0
        var timestampChannel: UInt16 = 0
    }

    public let config: MCAPSinkConfig
    /// Messages carry the payload as published; the decoded value is not written.
    public nonisolated var valueReads: ValueReads { .none }
    private let options: MCAPWriter.Options
    /// Opened at the first batch (or at `finish`), so building the stage — which
    /// `trackbag validate` does — never creates or truncates the output file.
    private var openWriter: MCAPWriter?
    private let unitScale: UInt64?
    private var entries: [TrackChannels] = []
    private var entriesByKey: [TrackKey: [Int]] = [:]
    private var lastEntry = -1
    private var schemaIds: [SchemaInfo: UInt16] = [:]
    /// Per channel id: the next message's sequence and what is added after each message (1,
    /// or 0 for a channel whose origin kept one constant sequence).
    private var sequences: [UInt32] = [0]
    private var sequenceSteps: [UInt32] = [1]
    private let progress: ProgressReporter?
    public private(set) var counters = StageCounters()

    /// `progress` overrides the config's `progress` flag with a reporter the caller made (the
    /// CLI knows the frame total, so it can show an ETA).
    public init(config: MCAPSinkConfig, progress: ProgressReporter? = nil) throws {
        self.config = config
        options = try config.writerOptions()
        unitScale = config.userTimestampUnit.flatMap(MCAPTrackMapping.UserTimestampMode.scale(forUnit:))
        self.progress = progress ?? (config.progress ? ProgressReporter(label: "mcap export") : nil)
    }

    private var writer: MCAPWriter {
        get throws {
            if let openWriter { return openWriter }
            let w = try MCAPWriter(path: config.path, options: options)
            openWriter = w
            return w
        }
    }

    public func write(_ batch: Batch) throws {
        do {
            for event in batch.events {
                try writer.addMetadata(Metadata(name: MCAPTrackMapping.eventRecordName,
                                                metadata: MCAPTrackMapping.eventMetadata(event)))
            }
            var bytes = 0
            for frame in batch.frames {
                try writeFrame(frame)
                bytes += frame.payload.count
            }
            counters.framesIn += UInt64(batch.frames.count)
            counters.framesOut += UInt64(batch.frames.count)
            counters.bytesIn += UInt64(bytes)
            progress?.advance(frames: batch.frames.count, bytes: bytes)
        } catch let e as MCAPError {
            throw PipelineError(message: "mcap sink: \(e)")
        }
    }

    public func finish() throws {
        do {
            try writer.finish()
        } catch let e as MCAPError {
            throw PipelineError(message: "mcap sink: \(e)")
        }
        progress?.finish()
    }

    private func writeFrame(_ frame: Frame) throws {
        let e = try entry(for: frame.track)
        // Receive times are Unix ns; before 1970 they keep their bit pattern (mapping doc).
        let logTime = UInt64(bitPattern: frame.receiveTimeNs)
        if let scale = unitScale, let ts = frame.userTimestamp {
            let (publish, overflow) = ts.multipliedReportingOverflow(by: scale)
            if !overflow {
                let channel = try unitChannel(e)
                try put(channel, logTime: logTime, publishTime: publish, payload: frame.payload)
                return
            }
        }
        let channel = try companionModeChannel(e)
        if let ts = frame.userTimestamp {
            let stamp = try timestampChannel(e)
            try put(stamp, logTime: logTime, publishTime: ts, payload: [])
        }
        try put(channel, logTime: logTime, publishTime: logTime, payload: frame.payload)
    }

    private func put(_ channel: UInt16, logTime: UInt64, publishTime: UInt64, payload: [UInt8]) throws {
        let seq = sequences[Int(channel)]
        sequences[Int(channel)] = seq &+ sequenceSteps[Int(channel)]
        try writer.addMessage(channelId: channel, sequence: seq, logTime: logTime, publishTime: publishTime,
                              data: payload)
    }

    private func entry(for track: TrackInfo) throws -> Int {
        if lastEntry >= 0 && entries[lastEntry].info == track { return lastEntry }
        if let candidates = entriesByKey[track.key] {
            for i in candidates where entries[i].info == track {
                lastEntry = i
                return i
            }
        }
        var schemaId: UInt16 = 0
        if let schema = track.schema {
            if let id = schemaIds[schema] {
                schemaId = id
            } else {
                schemaId = try writer.addSchema(name: schema.name, encoding: schema.encoding, data: schema.data)
                schemaIds[schema] = schemaId
            }
        }
        entries.append(TrackChannels(info: track, topic: MCAPTrackMapping.topic(config.topicTemplate, track),
                                     schemaId: schemaId))
        entriesByKey[track.key, default: []].append(entries.count - 1)
        lastEntry = entries.count - 1
        return lastEntry
    }

    private func addDataChannel(_ e: Int, mode: MCAPTrackMapping.UserTimestampMode) throws -> UInt16 {
        let t = entries[e]
        // A channel imported from another tool goes back as it was: its user timestamps are its
        // publish_time in ns, which a re-import reads from a channel without trackbag keys.
        if case .publishTime(unit: "ns", _) = mode, let origin = config.channelOrigins[t.info.key] {
            let id = try writer.addChannel(topic: origin.topic, messageEncoding: t.info.frameEncoding ?? "",
                                           schemaId: t.schemaId, metadata: origin.metadata)
            sequences.append(origin.sequence?.first ?? 0)
            sequenceSteps.append(origin.sequence?.step ?? 1)
            return id
        }
        let id = try writer.addChannel(topic: t.topic, messageEncoding: t.info.frameEncoding ?? "",
                                       schemaId: t.schemaId,
                                       metadata: MCAPTrackMapping.channelMetadata(t.info, mode: mode))
        sequences.append(0)
        sequenceSteps.append(1)
        return id
    }

    private func unitChannel(_ e: Int) throws -> UInt16 {
        if entries[e].unitChannel == 0, let unit = config.userTimestampUnit, let scale = unitScale {
            entries[e].unitChannel = try addDataChannel(e, mode: .publishTime(unit: unit, scale: scale))
        }
        return entries[e].unitChannel
    }

    private func companionModeChannel(_ e: Int) throws -> UInt16 {
        if entries[e].companionModeChannel == 0 {
            entries[e].companionModeChannel = try addDataChannel(e, mode: .companion)
        }
        return entries[e].companionModeChannel
    }

    private func timestampChannel(_ e: Int) throws -> UInt16 {
        if entries[e].timestampChannel == 0 {
            let of = try companionModeChannel(e)
            entries[e].timestampChannel = try writer.addChannel(
                topic: entries[e].topic + MCAPTrackMapping.companionTopicSuffix, messageEncoding: "",
                metadata: [MCAPTrackMapping.roleKey: MCAPTrackMapping.companionRole,
                           MCAPTrackMapping.companionOfKey: String(of)])
            sequences.append(0)
            sequenceSteps.append(1)
        }
        return entries[e].timestampChannel
    }
}

extension MCAPSink {
    public nonisolated var outputFiles: [String] { [config.path] }
}
