#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Pipeline
import Recording
import TrackModel

/// `type: recording` sink: writes frames and events into `.tbag` files (RecordingWriter),
/// starting a new file when `split` says so. An actor: the runtime's one task for this sink
/// calls `write`; a timer inside commits chunks older than 100 ms when input goes quiet, so a
/// crash loses at most about 100 ms of a live session.
public actor RecordingSink: SinkStage, StageMonitoring {
    public static let registration = StageRegistration(
        type: "recording", kind: .sink,
        summary: "write a .tbag file (path template {date} {room} {part}, zstd_level, split by size/duration)"
    ) { options, context in
        let config = try options.decode(Config.self)
        return .sink(RecordingSink(config: config))
    }

    public let config: Config
    /// The file stores payloads as published; the decoded value is not written.
    public nonisolated var valueReads: ValueReads { .none }
    private var writer: RecordingWriter?
    /// Tracks of the current file. A probe from the last hit finds the usual case (tracks
    /// interleaved in a fixed rhythm) in one or two comparisons of small strings, which is
    /// cheaper than hashing two strings per frame. Track ids start at 1, so 0 means "not found".
    private var tracks: [(info: TrackInfo, id: Int)] = []
    private var lastHit = 0
    private var fileFirstNs: Int64?
    private var part = 0
    private var timer: Task<Void, Never>?
    /// Every file this sink has opened, in order.
    public private(set) var files: [String] = []
    public private(set) var framesWritten: UInt64 = 0

    /// Meta the sources upstream carry (`inherit`); the sink's own `meta` wins over it.
    private var inherited: [String: String] = [:]

    public init(config: Config) {
        self.config = config
    }

    public func inherit(sessionMetadata: [String: String]) {
        inherited = sessionMetadata
    }

    public func write(_ batch: Batch) async throws {
        do {
            try batch.frames.withUnsafeBufferPointer { frames in
                // Fields are read in place (no copy of each Frame), and the actor's state is
                // worked on in locals: every access to an actor's stored `var` is a dynamic
                // exclusivity check, which per frame cost as much as the append.
                let splitSize = config.split?.size?.bytes
                let splitNs = config.split?.duration?.nanoseconds ?? .max
                var w = try currentWriter()
                var known = tracks
                var hit = lastHit
                var first = fileFirstNs
                defer {
                    tracks = known
                    lastHit = hit
                    fileFirstNs = first
                }
                for i in frames.indices {
                    let time = frames[i].receiveTimeNs
                    if let f = first {
                        if time &- f >= splitNs || splitSize.map({ Int64(w.storedBytes) >= $0 }) == true {
                            try closeFile()
                            w = try currentWriter()
                            known = []
                            hit = 0
                            first = time
                        }
                    } else {
                        first = time
                    }
                    // Probe from the last hit: tracks usually interleave in a fixed rhythm.
                    var id = 0
                    let n = known.count
                    var j = hit
                    for _ in 0..<n {
                        j += 1
                        if j >= n { j = 0 }
                        if known[j].info == frames[i].track {
                            id = known[j].id
                            hit = j
                            break
                        }
                    }
                    if id == 0 {
                        // A new track, or the same (identity, name) re-published with a new sid.
                        id = try w.addTrack(frames[i].track)
                        known.append((frames[i].track, id))
                        hit = known.count - 1
                    }
                    try frames[i].payload.withUnsafeBytes { payload in
                        try w.append(track: id, receiveTimeNs: time, userTimestamp: frames[i].userTimestamp, payload: payload)
                    }
                }
                framesWritten += UInt64(frames.count)
            }
            if !batch.events.isEmpty {
                let w = try currentWriter()
                for e in batch.events { try w.record(event: e) }
            }
        } catch let e as RecordingError {
            throw PipelineError(message: "recording sink: \(e.description)")
        }
        if timer == nil { startTimer() }
    }

    public func finish() async throws {
        timer?.cancel()
        timer = nil
        do {
            // A sink that saw nothing still leaves a valid (empty) file, unless told not to.
            if writer == nil && files.isEmpty && config.createWhenEmpty { _ = try currentWriter() }
            try closeFile()
        } catch let e as RecordingError {
            throw PipelineError(message: "recording sink: \(e.description)")
        }
    }

    /// Frames written and the size on disk of every file so far (the database and its journal).
    public func figures() async -> StageFigures {
        var figures = StageFigures()
        figures.gauges["file_bytes"] = Double(files.reduce(0) { $0 + Self.sizeOnDisk($1) })
        figures.gauges["files"] = Double(files.count)
        return figures
    }

    /// Bytes of `path` and of SQLite's `-wal` beside it (where committed chunks wait for a checkpoint).
    static func sizeOnDisk(_ path: String) -> Int64 {
        var total: Int64 = 0
        for file in [path, path + "-wal"] {
            var info = stat()
            if stat(file, &info) == 0 { total += Int64(info.st_size) }
        }
        return total
    }

    /// Commits chunks that are due (called by the timer).
    func commitDue() {
        try? writer?.commitDueChunks()
    }

    private func startTimer() {
        timer = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 50_000_000)
                await self?.commitDue()
            }
        }
    }

    private func currentWriter() throws -> RecordingWriter {
        if let w = writer { return w }
        part += 1
        let path = Self.resolve(config.path, room: config.room, part: config.split == nil ? nil : part,
                                unixSeconds: Int64(time(nil)))
        let w = try RecordingWriter(path: path, options: .init(
            zstdLevel: config.zstdLevel == 0 ? nil : config.zstdLevel, overwrite: config.overwrite, room: config.room))
        let meta = inherited.merging(config.meta) { _, own in own }
        for key in meta.keys.sorted() { try w.setMeta(key, meta[key] ?? "") }
        writer = w
        files.append(path)
        tracks = []
        lastHit = 0
        fileFirstNs = nil
        return w
    }

    private func closeFile() throws {
        guard let w = writer else { return }
        writer = nil
        try w.close()
    }

    /// Fills the path template: `{date}` (UTC, `yyyyMMdd-HHmmss`), `{room}`, `{part}`; with a
    /// part number and no `{part}` in the template, `-N` goes before the extension.
    static func resolve(_ template: String, room: String?, part: Int?, unixSeconds: Int64) -> String {
        let date = UnixTime.compact(ns: unixSeconds &* 1_000_000_000)
        let safeRoom = (room ?? "room").map { $0 == "/" ? "_" : $0 }
        var path = template.replacing("{date}", with: date)
            .replacing("{room}", with: String(safeRoom))
        if let part {
            if path.contains("{part}") {
                path = path.replacing("{part}", with: String(part))
            } else {
                let slash = path.lastIndex(of: "/")
                if let dot = path.lastIndex(of: "."), slash.map({ dot > $0 }) ?? true {
                    path.insert(contentsOf: "-\(part)", at: dot)
                } else {
                    path += "-\(part)"
                }
            }
        } else {
            path = path.replacing("{part}", with: "1")
        }
        return path
    }
}

extension RecordingSink {
    /// The first file's path, its template filled as it would be now.
    public nonisolated var outputFiles: [String] {
        [Self.resolve(config.path, room: config.room, part: config.split == nil ? nil : 1, unixSeconds: Int64(time(nil)))]
    }
}
