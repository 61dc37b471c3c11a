#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging
import Pipeline
import Recording
import TrackModel
import UnixSignals

/// `type: snapshot` sink, the flight recorder: keeps the last `pre` of frames in memory (at most
/// `max_bytes`) and, when a trigger fires, writes a new `.tbag` with that window plus everything
/// until `post` after the trigger (`SnapshotRing` holds the rules). Triggers: a `trigger`
/// condition over frames (the `filter` language), SIGUSR1 (when `signal` is on), and `fire`
/// for callers in the same process.
public actor SnapshotSink: SinkStage {
    public static let registration = StageRegistration(
        type: "snapshot", kind: .sink,
        summary: "flight recorder: keeps the last `pre` in memory, writes pre+post around each trigger (condition, SIGUSR1, trackbag snapshot) to a new .tbag"
    ) { options, context in
        let config = try options.decode(Config.self)
        do {
            return .sink(try SnapshotSink(config: config, logger: Logger(label: context.stageName)))
        } catch let error as PipelineError {
            throw options.error(error.message, at: options.node?["trigger"]?.position)
        }
    }

    /// The data track `trackbag snapshot` publishes; a frame on it fires a snapshot (with
    /// `commands`), naming its publisher and carrying its note.
    public static let commandTrack = "trackbag.snapshot"

    public let config: Config
    let expression: FilterExpression?
    /// The trigger condition's `value…` paths; the file stores payloads.
    public nonisolated var valueReads: ValueReads { .paths(expression?.valuePaths ?? []) }
    private var ring: SnapshotRing
    private var writer: RecordingWriter?
    private var trackIDs: [TrackInfo: Int] = [:]
    private var timer: Task<Void, Never>?
    private var signalTask: Task<Void, Never>?
    /// Every file written, in order.
    public private(set) var files: [String] = []
    public private(set) var framesWritten: UInt64 = 0
    /// Frames the byte bound pushed out of the ring, over the whole run.
    public var framesEvicted: UInt64 { ring.evictedTotal }
    /// Largest byte count the ring held (the bound's accounting, not the process RSS).
    public private(set) var peakBufferedBytes = 0
    /// Gets one line per file opened and closed.
    private let logger: Logger

    /// Throws a `PipelineError` naming the column when `trigger` does not parse.
    public init(config: Config, logger: Logger = Logger(label: "snapshot")) throws {
        self.config = config
        self.logger = logger
        do {
            self.expression = try config.trigger.map { try FilterParser.parse($0) }
        } catch let error as FilterSyntaxError {
            throw PipelineError(message: "trigger, column \(error.column): \(error.message)")
        }
        // The ring seals frames into blocks compressed as the file's chunks are (zstd at the
        // file's level), so the bound holds minutes of a high-rate session.
        let compressor: FrameBlockCompressor
        do { compressor = try FrameBlockCompressor(level: config.zstdLevel) } catch let e as RecordingError {
            throw PipelineError(message: "snapshot sink: \(e.description)")
        }
        let maxBytes = Int(clamping: config.maxBytes.bytes)
        self.ring = SnapshotRing(preNs: config.pre.nanoseconds, postNs: config.post.nanoseconds, maxBytes: maxBytes,
                                 blockBytes: SnapshotRing.blockBytes(forMaxBytes: maxBytes),
                                 codec: .init(compress: { try compressor.compress($0) },
                                              decompress: { try compressor.decompress($0, rawSize: $1) }))
    }

    public func write(_ batch: Batch) async throws {
        listenForSignals()
        do {
            for var frame in batch.frames {
                var trigger: SnapshotTrigger?
                if let expression, expression.accepts(frame) {
                    trigger = SnapshotTrigger(source: "expression", detail: config.trigger ?? "",
                                              identity: frame.track.identity, track: frame.track.name)
                } else if config.commands, frame.track.name == Self.commandTrack {
                    // The request's JSON as sent (`{"note":…}`), at most 512 bytes of it.
                    let text = String(decoding: frame.payload.prefix(512), as: UTF8.self)
                    trigger = SnapshotTrigger(source: "command", detail: "trackbag snapshot from \(frame.track.identity) \(text)",
                                              identity: frame.track.identity, track: frame.track.name)
                }
                // The decoded value served the condition; the file stores payloads, and the
                // byte bound counts payloads.
                frame.value = nil
                try perform(try ring.ingest(frame, fires: trigger))
                peakBufferedBytes = max(peakBufferedBytes, ring.bufferedBytes)
            }
            // Events inside an open window go to its file; while buffering they are not kept.
            if let w = writer {
                for e in batch.events { try w.record(event: e) }
            }
        } catch let e as RecordingError {
            throw PipelineError(message: "snapshot sink: \(e.description)")
        }
        if timer == nil && config.wallClock { startTimer() }
    }

    /// Fires a trigger now: at the session clock with `wall_clock` (the clock live receive times come
    /// from), else at the newest frame's receive time (a replay's own clock).
    public func fire(_ trigger: SnapshotTrigger) throws {
        let now = config.wallClock ? SessionClock.system.nowNs() : (ring.latestNs == .min ? SessionClock.system.nowNs() : ring.latestNs)
        do {
            try perform(try ring.fire(trigger, atNs: now))
        } catch let e as RecordingError {
            throw PipelineError(message: "snapshot sink: \(e.description)")
        }
    }

    /// Fires like `fire` and says where the window goes: the file it opened, or the open file
    /// whose window it extended (`extended`), as `trackbag.snapshot` answers.
    public func fireReporting(_ trigger: SnapshotTrigger) throws -> (path: String?, extended: Bool) {
        let before = files.count
        try fire(trigger)
        return (files.last, files.count == before)
    }

    public func finish() async throws {
        timer?.cancel()
        timer = nil
        signalTask?.cancel()
        signalTask = nil
        do {
            try perform(ring.finish())
        } catch let e as RecordingError {
            throw PipelineError(message: "snapshot sink: \(e.description)")
        }
    }

    func tick() {
        try? perform(ring.advance(toNs: SessionClock.system.nowNs()))
        try? writer?.commitDueChunks()
    }

    private func startTimer() {
        timer = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 50_000_000)
                await self?.tick()
            }
        }
    }

    /// With `signal`, starts listening for SIGUSR1 (the first `write` does it too). Idempotent.
    public func listenForSignals() {
        guard config.signal, signalTask == nil else { return }
        signalTask = Task { [weak self] in
            for await _ in await UnixSignalsSequence(trapping: .sigusr1) {
                try? await self?.fire(SnapshotTrigger(source: "signal", detail: "SIGUSR1"))
            }
        }
    }

    private func perform(_ actions: [SnapshotRing.Action]) throws {
        for action in actions {
            switch action {
            case let .open(trigger, atNs, contents, evicted):
                try open(trigger: trigger, atNs: atNs, contents: contents, evicted: evicted)
            case let .extend(trigger, atNs, untilNs):
                try writer?.record(event: Self.event(trigger, atNs: atNs, untilNs: untilNs, extended: true))
            case let .write(frames):
                for f in frames { try append(f) }
            case .close:
                try close()
            }
        }
    }

    private func open(trigger: SnapshotTrigger, atNs: Int64, contents: SnapshotRing.Contents, evicted: UInt64) throws {
        let path = try Self.freshPath(directory: config.directory, triggerNs: atNs)
        let w = try RecordingWriter(path: path, options: .init(
            zstdLevel: config.zstdLevel == 0 ? nil : config.zstdLevel, overwrite: false, room: config.room))
        writer = w
        trackIDs = [:]
        files.append(path)
        try w.setMeta("snapshot.pre_ns", String(config.pre.nanoseconds))
        try w.setMeta("snapshot.post_ns", String(config.post.nanoseconds))
        try w.setMeta("snapshot.max_bytes", String(config.maxBytes.bytes))
        let until = atNs.addingReportingOverflow(config.post.nanoseconds)
        try w.record(event: Self.event(trigger, atNs: atNs, untilNs: until.overflow ? .max : until.partialValue, extended: false))
        if evicted > 0 {
            try w.record(event: SessionEvent(timeNs: atNs, kind: .drop, count: Int64(clamping: evicted),
                                             detail: "snapshot: \(evicted) frames of the pre window evicted to stay within max_bytes \(config.maxBytes.bytes)"))
        }
        try contents.forEach { try append($0) }
        logger.info("snapshot: \(trigger.source) \(trigger.detail) at \(UnixTime.iso8601(ns: atNs)): writing \(path)")
    }

    private func append(_ frame: Frame) throws {
        guard let w = writer else { return }
        let id: Int
        if let known = trackIDs[frame.track] {
            id = known
        } else {
            id = try w.addTrack(frame.track)
            trackIDs[frame.track] = id
        }
        try w.append(track: id, receiveTimeNs: frame.receiveTimeNs, userTimestamp: frame.userTimestamp, payload: frame.payload)
        framesWritten += 1
    }

    private func close() throws {
        guard let w = writer else { return }
        writer = nil
        try w.close()
        logger.info("snapshot: closed \(w.path)")
    }

    /// The `snapshot` event: kind, when, what fired (source and detail) and the window's end.
    static func event(_ trigger: SnapshotTrigger, atNs: Int64, untilNs: Int64, extended: Bool) -> SessionEvent {
        SessionEvent(timeNs: atNs, kind: .snapshot, identity: trigger.identity, track: trigger.track,
                     detail: "\(extended ? "extended by" : "fired by") \(trigger.source): \(trigger.detail); window ends at \(untilNs) ns")
    }

    /// `DIR/snapshot-YYYYMMDD-HHMMSS.mmm.tbag` at the trigger time (UTC); `-2`, `-3`… when a
    /// file (or its sidecar) of that name exists. Never an existing name.
    static func freshPath(directory: String, triggerNs: Int64) throws -> String {
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let millis = ((triggerNs % 1_000_000_000) + 1_000_000_000) % 1_000_000_000 / 1_000_000
        let ms = String(millis)
        let base = "snapshot-\(UnixTime.compact(ns: triggerNs)).\(String(repeating: "0", count: 3 - ms.count))\(ms)"
        let dir = directory.isEmpty ? "" : (directory.hasSuffix("/") ? directory : directory + "/")
        var n = 1
        while true {
            let path = dir + base + (n == 1 ? "" : "-\(n)") + ".tbag"
            let taken = ([""] + OutputPath.sidecarSuffixes).contains { FileManager.default.fileExists(atPath: path + $0) }
            if !taken { return path }
            n += 1
        }
    }
}

extension SnapshotSink {
    /// Names are chosen at trigger time and never name an existing file, so an input cannot be one.
    public nonisolated var outputFiles: [String] { [] }
}
