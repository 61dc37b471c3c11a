import ArgumentParser
import Foundation
import MCAP
import Pipeline
import Recording
import Stages
import TrackModel

/// Hidden developer tool for MCAP interop tests (Tests/interop/test_mcap_interop.py): writes
/// MCAP files from a JSON-lines description with our writer, and dumps files read by our reader
/// as JSON lines, so the Python `mcap` library can judge both directions.
struct MCAPTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcap-tool", abstract: "MCAP writer/reader test tool.",
        subcommands: [Write.self, Dump.self, FromFrames.self, ToFrames.self])

    /// `write IN.jsonl OUT.mcap`: each input line is a message
    /// `{"topic", "message_encoding", "schema": {"name","encoding","data_b64"}|null, "metadata": {},
    ///   "log_time", "publish_time", "sequence", "data_b64"}` or a metadata record
    /// `{"metadata_record": {"name", "metadata": {}}}`. Channels and schemas are created the
    /// first time a distinct one appears.
    struct Write: ParsableCommand {
        @Argument var input: String
        @Argument var output: String
        @Option var compression: String = "zstd"
        @Option(name: .customLong("chunk-size")) var chunkSize: Int = 1 << 20
        @Flag var unchunked = false

        func run() throws {
            guard let compression = Compression(rawValue: compression == "none" ? "" : compression) else {
                throw ValidationError("unknown compression '\(compression)'")
            }
            let writer = try MCAPWriter(path: output, options: .init(
                compression: compression, chunkSize: chunkSize, useChunks: !unchunked))
            var schemaIds: [String: UInt16] = [:]
            var channelIds: [String: UInt16] = [:]
            let text = try String(contentsOfFile: input, encoding: .utf8)
            for (n, line) in text.split(separator: "\n").enumerated() {
                guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw ValidationError("line \(n + 1): not a JSON object")
                }
                if let meta = obj["metadata_record"] as? [String: Any] {
                    try writer.addMetadata(Metadata(name: meta["name"] as? String ?? "",
                                                    metadata: meta["metadata"] as? [String: String] ?? [:]))
                    continue
                }
                var schemaId: UInt16 = 0
                if let schema = obj["schema"] as? [String: Any] {
                    let key = "\(schema["name"] ?? "")\u{0}\(schema["encoding"] ?? "")\u{0}\(schema["data_b64"] ?? "")"
                    if let id = schemaIds[key] {
                        schemaId = id
                    } else {
                        schemaId = try writer.addSchema(
                            name: schema["name"] as? String ?? "", encoding: schema["encoding"] as? String ?? "",
                            data: Array(Data(base64Encoded: schema["data_b64"] as? String ?? "") ?? Data()))
                        schemaIds[key] = schemaId
                    }
                }
                let topic = obj["topic"] as? String ?? ""
                let encoding = obj["message_encoding"] as? String ?? ""
                let metadata = obj["metadata"] as? [String: String] ?? [:]
                let channelKey = "\(topic)\u{0}\(encoding)\u{0}\(schemaId)\u{0}\(metadata.sorted { $0.key < $1.key })"
                let channelId: UInt16
                if let id = channelIds[channelKey] {
                    channelId = id
                } else {
                    channelId = try writer.addChannel(topic: topic, messageEncoding: encoding, schemaId: schemaId,
                                                      metadata: metadata)
                    channelIds[channelKey] = channelId
                }
                let logTime = (obj["log_time"] as? NSNumber)?.uint64Value ?? 0
                try writer.addMessage(
                    channelId: channelId, sequence: (obj["sequence"] as? NSNumber)?.uint32Value ?? 0,
                    logTime: logTime, publishTime: (obj["publish_time"] as? NSNumber)?.uint64Value ?? logTime,
                    data: Array(Data(base64Encoded: obj["data_b64"] as? String ?? "") ?? Data()))
            }
            try writer.finish()
        }
    }

    /// `dump FILE.mcap`: one JSON line per schema, channel, message, metadata and attachment as
    /// our reader sees them, then `{"type":"end", ...}`; on a read error a final
    /// `{"type":"error", ...}` line and exit status 1.
    struct Dump: ParsableCommand {
        @Argument var path: String
        @Flag(name: .customLong("linear")) var linear = false
        @Flag(name: .customLong("no-crc")) var noCRC = false

        func run() throws {
            var out = FileHandleOutput()
            func emit(_ obj: [String: Any]) {
                if let data = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]) {
                    out.write(data)
                    out.write(Data([0x0A]))
                }
            }
            let reader: MCAPReader
            do {
                reader = try MCAPReader(path: path, options: .init(validateCRCs: !noCRC, useIndex: !linear))
            } catch let error as MCAPError {
                emit(errorObject(error))
                out.flush()
                throw ExitCode(1)
            }
            do {
                while let record = try reader.next() {
                    switch record {
                    case .schema(let s):
                        emit(["type": "schema", "id": Int(s.id), "name": s.name, "encoding": s.encoding,
                              "data_b64": Data(s.data).base64EncodedString()])
                    case .channel(let c):
                        emit(["type": "channel", "id": Int(c.id), "schema_id": Int(c.schemaId), "topic": c.topic,
                              "message_encoding": c.messageEncoding, "metadata": c.metadata])
                    case .message(let m):
                        emit(["type": "message", "channel_id": Int(m.channelId), "sequence": Int(m.sequence),
                              "log_time": NSNumber(value: m.logTime), "publish_time": NSNumber(value: m.publishTime),
                              "data_b64": Data(m.data).base64EncodedString()])
                    case .metadata(let m):
                        emit(["type": "metadata", "name": m.name, "metadata": m.metadata])
                    case .attachment(let a):
                        emit(["type": "attachment", "name": a.name, "media_type": a.mediaType,
                              "log_time": NSNumber(value: a.logTime), "create_time": NSNumber(value: a.createTime),
                              "data_b64": Data(a.data).base64EncodedString()])
                    }
                }
                emit(["type": "end", "mode": reader.mode == .indexed ? "indexed" : "linear",
                      "messages": reader.messagesRead])
                out.flush()
            } catch let error as MCAPError {
                emit(errorObject(error))
                out.flush()
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(1)
            }
        }

        private func errorObject(_ e: MCAPError) -> [String: Any] {
            var o: [String: Any] = ["type": "error", "kind": e.kind.rawValue, "message": e.description]
            if let v = e.offset { o["offset"] = NSNumber(value: v) }
            if let v = e.messagesRead { o["messages_read"] = v }
            if let v = e.bytesReadable { o["bytes_readable"] = NSNumber(value: v) }
            return o
        }
    }
}

/// Buffered stdout for large dumps.
struct FileHandleOutput {
    private var buffer = Data()
    mutating func write(_ d: Data) {
        buffer.append(d)
        if buffer.count > 1 << 20 { flush() }
    }
    mutating func flush() {
        FileHandle.standardOutput.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

// MARK: Frames through the mcap stages

/// A frame or event as one JSON line (README.md plus the track's fields):
/// `{"identity","track","time_ns","user_timestamp","payload_b64","sid","pub_handle","encryption",
///   "frame_encoding","schema":{"name","encoding","data_b64"}}` or `{"event": {...}}`.
enum FrameJSON {
    static func frame(_ o: [String: Any], sequence: UInt64) throws -> Frame {
        var schema: SchemaInfo?
        if let s = o["schema"] as? [String: Any] {
            schema = SchemaInfo(name: s["name"] as? String ?? "", encoding: s["encoding"] as? String ?? "",
                                data: Array(Data(base64Encoded: s["data_b64"] as? String ?? "") ?? Data()))
        }
        let track = TrackInfo(identity: o["identity"] as? String ?? "", name: o["track"] as? String ?? "",
                              sid: o["sid"] as? String, pubHandle: (o["pub_handle"] as? NSNumber)?.uint16Value,
                              encryption: TrackEncryption(rawValue: o["encryption"] as? String ?? "none") ?? .none,
                              frameEncoding: o["frame_encoding"] as? String, schema: schema)
        return Frame(track: track, payload: Array(Data(base64Encoded: o["payload_b64"] as? String ?? "") ?? Data()),
                     userTimestamp: (o["user_timestamp"] as? NSNumber)?.uint64Value,
                     receiveTimeNs: (o["time_ns"] as? NSNumber)?.int64Value ?? 0, sequence: sequence)
    }

    static func object(_ f: Frame) -> [String: Any] {
        var o: [String: Any] = ["identity": f.track.identity, "track": f.track.name,
                                "time_ns": NSNumber(value: f.receiveTimeNs),
                                "user_timestamp": f.userTimestamp.map { NSNumber(value: $0) as Any } ?? NSNull(),
                                "payload_b64": Data(f.payload).base64EncodedString(),
                                "encryption": f.track.encryption.rawValue]
        if let v = f.track.sid { o["sid"] = v }
        if let v = f.track.pubHandle { o["pub_handle"] = Int(v) }
        if let v = f.track.frameEncoding { o["frame_encoding"] = v }
        if let s = f.track.schema {
            o["schema"] = ["name": s.name, "encoding": s.encoding, "data_b64": Data(s.data).base64EncodedString()]
        }
        return o
    }

    static func event(_ o: [String: Any]) -> SessionEvent? {
        guard let kind = (o["kind"] as? String).flatMap(SessionEvent.Kind.init(rawValue:)) else { return nil }
        return SessionEvent(timeNs: (o["time_ns"] as? NSNumber)?.int64Value ?? 0, kind: kind,
                            identity: o["identity"] as? String, track: o["track"] as? String,
                            count: (o["count"] as? NSNumber)?.int64Value, detail: o["detail"] as? String)
    }

    static func object(_ e: SessionEvent) -> [String: Any] {
        var o: [String: Any] = ["time_ns": NSNumber(value: e.timeNs), "kind": e.kind.rawValue]
        if let v = e.identity { o["identity"] = v }
        if let v = e.track { o["track"] = v }
        if let v = e.count { o["count"] = NSNumber(value: v) }
        if let v = e.detail { o["detail"] = v }
        return ["event": o]
    }
}

extension MCAPTool {
    /// `from-frames IN.jsonl OUT.mcap`: frames and events through the `mcap` sink stage.
    struct FromFrames: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "from-frames")
        @Argument var input: String
        @Argument var output: String
        @Option(name: .customLong("user-timestamp-unit")) var unit: String?
        @Option var compression: String = "zstd"
        @Option(name: .customLong("topic-template")) var topicTemplate: String = "/{identity}/{track}"

        func run() async throws {
            let sink = try MCAPSink(config: MCAPSinkConfig(path: output, topicTemplate: topicTemplate,
                                                           compression: compression, userTimestampUnit: unit))
            var batch = Batch()
            var n: UInt64 = 0
            for line in try String(contentsOfFile: input, encoding: .utf8).split(separator: "\n") {
                guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
                if let e = o["event"] as? [String: Any] {
                    if let event = FrameJSON.event(e) { batch.events.append(event) }
                } else {
                    batch.frames.append(try FrameJSON.frame(o, sequence: n))
                    n += 1
                }
            }
            try await sink.write(batch)
            try await sink.finish()
        }
    }

    /// `to-frames IN.mcap`: the `mcap` source stage's frames and events as JSON lines.
    struct ToFrames: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "to-frames")
        @Argument var input: String
        @Option var identity: String = "mcap"
        @Option(help: "file or log-time") var order: String = "file"
        @Flag(help: "Draw progress on stderr even when it is not a terminal.") var progress = false

        func run() async throws {
            let reporter = progress ? ProgressReporter(label: "mcap import", totalBytes: fileSize(input), force: true) : nil
            let source = try MCAPSource(config: MCAPSourceConfig(path: input, identity: identity,
                                                                 order: MCAPSourceConfig.order(order)),
                                        progress: reporter)
            let collector = BatchCollector()
            do {
                try await source.run(into: collector)
            } catch {
                await collector.printAll()
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(1)
            }
            await collector.printAll()
        }
    }
}

private func fileSize(_ path: String) -> Int64? {
    (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
}

/// Keeps every batch a source emits (test tool only).
actor BatchCollector: BatchEmitter {
    private var batches: [Batch] = []
    func emit(_ batch: Batch) async throws { batches.append(batch) }
    func printAll() {
        var out = FileHandleOutput()
        for b in batches {
            for e in b.events {
                if let d = try? JSONSerialization.data(withJSONObject: FrameJSON.object(e), options: [.sortedKeys]) {
                    out.write(d); out.write(Data([0x0A]))
                }
            }
            for f in b.frames {
                if let d = try? JSONSerialization.data(withJSONObject: FrameJSON.object(f), options: [.sortedKeys]) {
                    out.write(d); out.write(Data([0x0A]))
                }
            }
        }
        out.flush()
    }
}
