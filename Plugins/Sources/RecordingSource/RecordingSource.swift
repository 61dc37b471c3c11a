import Pipeline
import Recording
import TrackModel

/// `type: recording` source: reads a `.tbag` file (or the parts of a split recording, one after
/// another) and emits its frames in receive-time order across tracks, with the file's session
/// events beside them.
///
/// `fast` pace fills batches of `batch_frames`; `original` pace emits each frame at its absolute
/// deadline (`ReplayClock`), batching only frames already due, and reports its lateness
/// (p50/p99/max, end drift) when the run ends: as a `note` event, to `onPacingReport`, and on
/// standard error when built from a config.
public struct RecordingSource: SourceStage {
    public static let registration = StageRegistration(
        type: "recording", kind: .source,
        summary: "replay a .tbag file (pace original|fast, rate, loop, start/end, track globs)"
    ) { options, context in
        let config = try options.decode(Config.self)
        do {
            var source = try RecordingSource(config: config)
            let stage = context.stageName
            source.onPacingReport = { report in
                FileOutput.standardError("\(stage): \(report)\n")
            }
            return .source(source)
        } catch let e as RecordingError {
            throw PipelineError(message: e.description, file: context.configPath, stage: context.stageName)
        }
    }

    public let config: Config
    let globs: [TrackGlob]
    /// Called once when an `original`-paced run ends (normally or cancelled).
    public var onPacingReport: (@Sendable (PacingReport) -> Void)?
    /// Pause and resume of an `original`-paced replay (`trackbag play`'s space bar).
    public let control = ReplayControl()

    /// Validates the options (globs, start before end); the file is opened by `run`.
    public init(config: Config) throws {
        self.config = config
        var globs: [TrackGlob] = []
        for (i, g) in (config.tracks ?? []).enumerated() {
            do { globs.append(try TrackGlob(g)) } catch {
                var e = error
                e.place = "tracks[\(i)] " + (e.place ?? "")
                throw e
            }
        }
        self.globs = globs
        if let s = config.start, let e = config.end, e < s {
            throw RecordingError(.invalidArgument, "end (\(e)) is before start (\(s))", file: config.path, place: "start/end")
        }
    }

    public func run(into output: any BatchEmitter) async throws {
        let parts = try Self.openParts(config.paths)
        guard let first = parts.first?.range, let last = parts.last?.range else {
            let events = try parts.flatMap { try $0.reader.events() }
            if !events.isEmpty { try await output.emit(Batch(events: events)) }
            return
        }
        let range = first.lowerBound...max(first.upperBound, last.upperBound)
        // Offsets from the session's first time saturate rather than wrap past Int64.
        func offset(_ ns: Int64) -> Int64 {
            let (r, o) = range.lowerBound.addingReportingOverflow(ns)
            return o ? (ns > 0 ? .max : .min) : r
        }
        let startNs = offset(config.start?.nanoseconds ?? 0)
        let endNs = config.end.map { offset($0.nanoseconds) } ?? range.upperBound
        var run = Run(config: config, control: control)
        var clock = ReplayClock(rate: config.rate)
        defer {
            if config.pace == .original { onPacingReport?(PacingReport(clock.lateness)) }
        }
        repeat {
            run.emittedThisPass = 0
            clock.restart()
            // Parts play one after another on one clock: the pacing runs on across a boundary.
            for part in parts {
                let reader = part.reader
                let ids: Set<Int>? = globs.isEmpty ? nil : reader.trackIDs(matching: globs)
                run.infos = Dictionary(uniqueKeysWithValues: reader.tracks.map { ($0.id, $0.info) })
                // Without explicit offsets every event is replayed, including those just before the
                // first frame (join, publish) and after the last (leave, unpublish).
                run.events = try reader.events(startNs: config.start == nil ? nil : startNs,
                                               endNs: config.end == nil ? nil : endNs).filter { e in
                    guard !globs.isEmpty, let identity = e.identity, let track = e.track else { return true }
                    return globs.anyMatches(TrackKey(identity: identity, name: track))
                }
                run.eventIndex = 0
                let cursor = try reader.frames(FrameSelection(trackIDs: ids, startNs: startNs, endNs: endNs))
                switch config.pace {
                case .fast: try await run.fast(cursor, output)
                case .original: try await run.original(cursor, &clock, output)
                }
            }
        } while config.loop && !Task.isCancelled && run.emittedThisPass > 0
        if config.pace == .original {
            let report = PacingReport(clock.lateness)
            try await output.emit(Batch(events: [SessionEvent(timeNs: endNs, kind: .note, detail: "replay pacing: \(report)")]))
        }
    }

    /// The files, opened before anything plays (a missing part fails at once), in the order of
    /// their first receive time; files without frames first. Parts of a split recording follow
    /// each other; files that overlap in time are two sessions, and replaying them as one
    /// would need a merge this source does not do, so they are refused.
    static func openParts(_ paths: [String]) throws -> [(reader: RecordingReader, range: ClosedRange<Int64>?)] {
        var parts: [(reader: RecordingReader, range: ClosedRange<Int64>?)] = []
        for path in paths {
            let reader = try RecordingReader(path: path)
            parts.append((reader, try reader.timeRange()))
        }
        parts.sort { ($0.range?.lowerBound ?? .min) < ($1.range?.lowerBound ?? .min) }
        let timed = parts.filter { $0.range != nil }
        for (a, b) in zip(timed, timed.dropFirst()) where b.range!.lowerBound <= a.range!.upperBound {
            throw RecordingError(.invalidArgument, "overlaps \(a.reader.path) in time: several files play as one session only when "
                                 + "each starts after the previous one ends (the parts of a split recording)",
                                 file: b.reader.path, place: "path")
        }
        return parts.filter { $0.range == nil } + timed
    }

    /// The state of one run: sequence numbers and the event position.
    struct Run {
        /// Payload bytes after which a fast-pace batch is emitted even if not full of frames.
        static let maximumBatchBytes = 8 << 20
        let config: Config
        let control: ReplayControl
        /// The current part's tracks and events.
        var infos: [Int: TrackInfo] = [:]
        var events: [SessionEvent] = []
        var eventIndex = 0
        var sequence: UInt64 = 0
        var emittedThisPass = 0

        mutating func frame(_ cursor: FrameCursor) -> Frame {
            let payload = cursor.withCurrentPayload { [UInt8]($0) }
            let f = Frame(track: infos[cursor.currentTrackID] ?? TrackInfo(identity: "?", name: "track-\(cursor.currentTrackID)"),
                          payload: payload, userTimestamp: cursor.currentUserTimestamp,
                          receiveTimeNs: cursor.currentReceiveTimeNs, sequence: sequence)
            sequence += 1
            emittedThisPass += 1
            return f
        }

        /// Events due up to `timeNs` (all that remain when nil).
        mutating func events(upTo timeNs: Int64?) -> [SessionEvent] {
            let from = eventIndex
            while eventIndex < events.count, timeNs.map({ events[eventIndex].timeNs <= $0 }) ?? true { eventIndex += 1 }
            return Array(events[from..<eventIndex])
        }

        mutating func fast(_ cursor: FrameCursor, _ output: any BatchEmitter) async throws {
            var frames: [Frame] = []
            frames.reserveCapacity(config.batchFrames)
            var bytes = 0
            while try cursor.advance() {
                let f = frame(cursor)
                bytes += f.payload.count
                frames.append(f)
                // Frames of a file may be megabytes each: a batch is cut by bytes too.
                if frames.count == config.batchFrames || bytes >= Self.maximumBatchBytes {
                    let batch = Batch(frames: frames, events: events(upTo: frames[frames.count - 1].receiveTimeNs))
                    frames.removeAll(keepingCapacity: true)
                    bytes = 0
                    try await output.emit(batch)
                }
            }
            let batch = Batch(frames: frames, events: events(upTo: nil))
            if !batch.isEmpty { try await output.emit(batch) }
        }

        /// Waits for a frame's deadline, pausing when asked: long waits sleep in slices of at
        /// most 50 ms so a pause is noticed within that, and the last 2 ms are the clock's
        /// precise absolute sleep (its lateness recorded once per frame).
        func waitPausable(until recordingTimeNs: Int64, _ clock: inout ReplayClock) async throws {
            while true {
                if await control.holdIfPaused(&clock) { continue }
                guard clock.isAnchored else { break }
                let coarse = clock.deadline(for: recordingTimeNs) &- ReplayClock.now() &- 2_000_000
                guard coarse > 0 else { break }
                try await Task.sleep(nanoseconds: UInt64(min(coarse, 50_000_000)))
            }
            try await clock.waitAsync(until: recordingTimeNs)
        }

        mutating func original(_ cursor: FrameCursor, _ clock: inout ReplayClock, _ output: any BatchEmitter) async throws {
            var pending = try cursor.advance() ? frame(cursor) : nil
            while let first = pending {
                try await waitPausable(until: first.receiveTimeNs, &clock)
                var frames = [first]
                var bytes = first.payload.count
                pending = try cursor.advance() ? frame(cursor) : nil
                // Frames already due go out with this one (wait records their lateness, no sleep).
                while let next = pending, frames.count < config.batchFrames, bytes < Self.maximumBatchBytes,
                      clock.deadline(for: next.receiveTimeNs) <= ReplayClock.now() {
                    clock.wait(until: next.receiveTimeNs)
                    bytes += next.payload.count
                    frames.append(next)
                    pending = try cursor.advance() ? frame(cursor) : nil
                }
                try await output.emit(Batch(frames: frames, events: events(upTo: frames[frames.count - 1].receiveTimeNs)))
            }
            let rest = events(upTo: nil)
            if !rest.isEmpty { try await output.emit(Batch(events: rest)) }
        }
    }
}

extension RecordingSource {
    public nonisolated var inputFiles: [String] { config.paths }
}
