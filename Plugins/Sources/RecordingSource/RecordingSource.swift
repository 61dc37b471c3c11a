import Logging
import Pipeline
import Recording
import Synchronization
import TrackModel

/// `type: recording` source: reads a `.tbag` file (or the parts of a split recording, one after
/// another) and emits its frames in receive-time order across tracks, with the file's session
/// events beside them.
///
/// `fast` pace fills batches of `batch_frames`; `original` pace emits each frame at its absolute
/// deadline (`ReplayClock`), batching only frames already due, and reports its lateness
/// (p50/p99/max, end drift) when the run ends: as a `note` event, to `onPacingReport`, and on
/// standard error when built from a config.
public struct RecordingSource: SourceStage, StageMonitoring {
    public static let registration = StageRegistration(
        type: "recording", kind: .source,
        summary: "replay a .tbag file (pace original|fast, rate, loop, start/end, track globs)"
    ) { options, context in
        let config = try options.decode(Config.self)
        do {
            var source = try RecordingSource(config: config)
            let stage = context.stageName
            source.onPacingReport = { report in
                Logger(label: stage).info("\(report)")
            }
            return .source(source)
        } catch let e as RecordingError {
            throw PipelineError(message: e.description, file: context.configPath, stage: context.stageName)
        }
    }

    public let config: Config
    let globs: [TrackGlob]
    let latchGlobs: [TrackGlob]
    /// Called once when an `original`-paced run ends (normally or cancelled).
    public var onPacingReport: (@Sendable (PacingReport) -> Void)?
    /// Pause, resume, rate, step and seek of an `original`-paced replay (`trackbag play`'s
    /// keys and RPC methods).
    public let control: ReplayControl
    /// How far the replay is and how late, while it runs (`trackbag play`'s status, metrics).
    let progress = ReplayProgress()

    /// Validates the options (globs, start before end); the file is opened by `run`.
    public init(config: Config) throws {
        self.config = config
        control = ReplayControl(rate: config.rate)
        var globs: [TrackGlob] = []
        for (i, g) in (config.tracks ?? []).enumerated() {
            do { globs.append(try TrackGlob(g)) } catch {
                var e = error
                e.place = "tracks[\(i)] " + (e.place ?? "")
                throw e
            }
        }
        self.globs = globs
        var latchGlobs: [TrackGlob] = []
        for (i, g) in (config.latch ?? []).enumerated() {
            do { latchGlobs.append(try TrackGlob(g)) } catch {
                var e = error
                e.place = "latch[\(i)] " + (e.place ?? "")
                throw e
            }
        }
        self.latchGlobs = latchGlobs
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
        progress.started(durationNs: endNs &- startNs)
        var run = Run(config: config, control: control, progress: progress, startNs: startNs)
        if config.pace == .original, config.clock == .user {
            run.userTimestampUnitNs = try Self.userTimestampUnit(config, parts.map(\.reader))
        }
        var clock = ReplayClock(rate: config.rate)
        control.begin(firstNs: range.lowerBound, lastNs: endNs)
        defer {
            control.finish()
            if config.pace == .original { onPacingReport?(PacingReport(clock)) }
        }
        // A seek ends the pass where it is and starts one from the target (same clock
        // statistics, new anchor), whatever the loop setting.
        var seekTo: Int64?
        while true {
            run.emittedThisPass = 0
            clock.restart()
            let from = seekTo ?? startNs
            let seeking = seekTo != nil
            seekTo = nil
            // Latched state tracks: their last frame before the position goes first, at a
            // start, a loop and a seek alike.
            let latched = try latchedFrames(before: from, in: parts.map(\.reader), &run)
            if !latched.isEmpty { try await output.emit(Batch(frames: latched)) }
            do {
                // Parts play one after another on one clock: the pacing runs on across a boundary.
                for part in parts {
                    // After a seek, parts that end before the target are skipped.
                    if seeking, (part.range?.upperBound ?? .min) < from { continue }
                    let reader = part.reader
                    let ids: Set<Int>? = globs.isEmpty ? nil : reader.trackIDs(matching: globs)
                    run.infos = TracksByID(reader.tracks)
                    // Without explicit offsets every event is replayed, including those just before the
                    // first frame (join, publish) and after the last (leave, unpublish).
                    run.events = try reader.events(startNs: config.start == nil && !seeking ? nil : from,
                                                   endNs: config.end == nil ? nil : endNs).filter { e in
                        guard !globs.isEmpty, let identity = e.identity, let track = e.track else { return true }
                        return globs.anyMatches(TrackKey(identity: identity, name: track))
                    }
                    run.eventIndex = 0
                    let cursor = try reader.frames(FrameSelection(trackIDs: ids, startNs: from, endNs: endNs))
                    switch config.pace {
                    case .fast: try await run.fast(cursor, output)
                    case .original: try await run.original(cursor, &clock, output)
                    }
                }
            } catch let request as SeekRequest {
                seekTo = request.targetNs
                // Steps before the seek say nothing about where pacing resumes after it.
                run.steppedInPause = false
                run.positionNs = nil
                run.pacingPositionNs = nil
                // User-timestamp pacing never goes backwards within a pass; a seek starts anew.
                run.lastPacingNs = .min
                continue
            }
            guard config.loop, !Task.isCancelled, run.emittedThisPass > 0 else { break }
        }
        if config.pace == .original {
            let report = PacingReport(clock)
            var events = [SessionEvent(timeNs: endNs, kind: .note, detail: "replay pacing: \(report)")]
            for (key, count) in run.droppedLate.sorted(by: { $0.key.description < $1.key.description }) {
                events.append(SessionEvent(timeNs: endNs, kind: .drop, identity: key.identity, track: key.name, count: Int64(count),
                                           detail: "replay overload: frames more than \(config.overloadThreshold) late left out"))
            }
            try await output.emit(Batch(events: events))
        }
    }

    /// A part's tracks by id. SQLite numbers tracks 1, 2, 3…, so an array indexed by id finds
    /// a frame's track without hashing (a dictionary lookup per frame was a visible share of
    /// the offline pipeline); a file whose ids are far apart gets a dictionary instead, so no
    /// id a file declares sizes an allocation.
    struct TracksByID {
        private var dense: [TrackInfo?] = []
        private var sparse: [Int: TrackInfo] = [:]

        init(_ tracks: [RecordedTrack]) {
            let top = tracks.map(\.id).max() ?? -1
            if tracks.allSatisfy({ $0.id >= 0 }), top < 4 * tracks.count + 64 {
                dense = Array(repeating: nil, count: top + 1)
                for t in tracks { dense[t.id] = t.info }
            } else {
                sparse = Dictionary(tracks.map { ($0.id, $0.info) }, uniquingKeysWith: { first, _ in first })
            }
        }

        @inline(__always)
        subscript(id: Int) -> TrackInfo? {
            id >= 0 && id < dense.count ? dense[id] : sparse[id]
        }
    }

    /// The last frame before `positionNs` of every latched track (that the replay selects),
    /// across the parts, in time order: sent at once when a replay begins after them. Looks
    /// back through windows of growing length (1 s, 1 min, 1 h, all) so a dense file is not
    /// read from its start to find one frame.
    func latchedFrames(before positionNs: Int64, in readers: [RecordingReader], _ run: inout Run) throws -> [Frame] {
        guard !latchGlobs.isEmpty, positionNs > .min else { return [] }
        var latest: [TrackKey: Frame] = [:]
        for reader in readers {
            let wanted = reader.tracks.filter { latchGlobs.anyMatches($0.info.key) && (globs.isEmpty || globs.anyMatches($0.info.key)) }
            for track in wanted {
                for lookback: Int64 in [1_000_000_000, 60_000_000_000, 3_600_000_000_000, .max] {
                    let (from, overflow) = positionNs.subtractingReportingOverflow(lookback)
                    let cursor = try reader.frames(FrameSelection(trackIDs: [track.id], startNs: overflow || lookback == .max ? nil : from,
                                                                  endNs: positionNs &- 1))
                    var last: RecordedFrame?
                    while let frame = try cursor.next() { last = frame }
                    guard let last else { continue }
                    if let held = latest[track.info.key], held.receiveTimeNs >= last.receiveTimeNs { break }
                    latest[track.info.key] = Frame(track: track.info, payload: last.payload, userTimestamp: last.userTimestamp,
                                                   receiveTimeNs: last.receiveTimeNs, sequence: run.nextSequence())
                    break
                }
            }
        }
        return latest.values.sorted { $0.receiveTimeNs < $1.receiveTimeNs }
    }

    /// Nanoseconds per user-timestamp tick for `clock: user`: the config's, else the files'
    /// `user_timestamp_unit` (all parts must agree), else an error that says what to add.
    static func userTimestampUnit(_ config: Config, _ readers: [RecordingReader]) throws -> Int64 {
        if let ns = config.userTimestampUnitNs { return ns }
        let units = Set(readers.map { $0.meta[MCAPChannelOrigin.userTimestampUnitMetaKey] })
        guard units.count == 1, let name = units.first ?? nil, let ns = Config.nanoseconds(perUserTimestampUnit: name) else {
            throw RecordingError(.invalidArgument, "clock: user needs user_timestamp_unit (ns, us or ms): the file does not say "
                                 + "which unit its user timestamps are in", file: config.path, place: "user_timestamp_unit")
        }
        return ns
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
        /// With `clock: user`: nanoseconds per user-timestamp tick; nil paces by receive time.
        var userTimestampUnitNs: Int64?
        /// The last pacing time handed out: user times never go back (see `pacingTime`).
        var lastPacingNs = Int64.min
        /// Overload `drop`: frames left out, per track.
        var droppedLate: [TrackKey: Int] = [:]
        let progress: ReplayProgress
        let startNs: Int64
        /// The current part's tracks and events.
        var infos = TracksByID([])
        var events: [SessionEvent] = []
        var eventIndex = 0
        var sequence: UInt64 = 0
        var emittedThisPass = 0
        /// Receive time of the last frame emitted (the replay's position).
        var positionNs: Int64?
        /// Pacing time of the last frame emitted (its receive time, or with `clock: user` its
        /// user timestamp): where pacing resumes after steps.
        var pacingPositionNs: Int64?
        /// Frames went out by step during the current pause.
        var steppedInPause = false

        mutating func nextSequence() -> UInt64 {
            defer { sequence += 1 }
            return sequence
        }

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
                frames.append(frame(cursor))
                bytes += frames[frames.count - 1].payload.count
                // Frames of a file may be megabytes each: a batch is cut by bytes too.
                if frames.count == config.batchFrames || bytes >= Self.maximumBatchBytes {
                    let lastNs = frames[frames.count - 1].receiveTimeNs
                    let batch = Batch(frames: frames, events: events(upTo: lastNs))
                    // Handed over whole: the next stage holds the frames alone.
                    frames = []
                    frames.reserveCapacity(config.batchFrames)
                    bytes = 0
                    try await output.emit(consume batch)
                    progress.reached(lastNs &- startNs)
                }
            }
            let batch = Batch(frames: frames, events: events(upTo: nil))
            if !batch.isEmpty { try await output.emit(batch) }
        }

        /// The time that paces `frame`: its receive time, or with `clock: user` its user
        /// timestamp in nanoseconds; a frame without one, or behind the frame before it, takes
        /// the previous frame's time (it leaves right after it, not as an overload).
        mutating func pacingTime(_ frame: Frame) -> Int64 {
            guard let unit = userTimestampUnitNs else { return frame.receiveTimeNs }
            var time = lastPacingNs
            if let user = frame.userTimestamp {
                let (ns, overflow) = Int64(clamping: user).multipliedReportingOverflow(by: unit)
                time = max(time, overflow ? .max : ns)
            }
            if time == .min { time = frame.receiveTimeNs }
            lastPacingNs = time
            return time
        }

        /// Overload `drop`: true (and counted) when the frame is already more than the
        /// threshold late and must be left out.
        mutating func leftOut(_ frame: Frame, at time: Int64, _ clock: inout ReplayClock) -> Bool {
            guard config.overload == .drop, clock.lateness(of: time) > config.overloadThreshold.nanoseconds else { return false }
            clock.dropLate()
            droppedLate[frame.track.key, default: 0] += 1
            return true
        }

        /// Overload `slow`: a frame that left more than the threshold late delays the rest.
        func absorb(lateness: Int64, _ clock: inout ReplayClock) {
            if config.overload == .slow, lateness > config.overloadThreshold.nanoseconds { clock.delay(by: lateness) }
        }

        /// Waits for a frame's deadline (its pacing time), following the control
        /// (`ReplayControl`): long waits sleep in slices of at most 10 ms so a pause, rate or seek
        /// takes effect within that, and the last 2 ms are the clock's precise absolute sleep (its
        /// lateness recorded once per frame and returned). While paused it waits for a command;
        /// a frame released by a step returns nil at once (not paced, no lateness). Throws
        /// `SeekRequest` when a seek is asked.
        mutating func waitPausable(until recordingTimeNs: Int64, _ clock: inout ReplayClock) async throws -> Int64? {
            while true {
                let seen = control.commandCount
                if let target = control.takeSeek() { throw SeekRequest(targetNs: target) }
                if let since = control.pausedSince {
                    if !clock.isPaused { clock.pause(now: since) }
                    if control.takeStep(frameNs: recordingTimeNs, positionNs: pacingPositionNs) {
                        steppedInPause = true
                        return nil
                    }
                    await control.waitForCommand(after: seen)
                    try Task.checkCancellation()
                    continue
                }
                if clock.isPaused {
                    clock.resume()
                    // Stepped frames moved the position: pace on from the last of them.
                    if steppedInPause, let pacingPositionNs { clock.start(at: pacingPositionNs) }
                    steppedInPause = false
                }
                if let rate = control.takeRate() { clock.setRate(rate) }
                guard clock.isAnchored else { break }
                let coarse = clock.deadline(for: recordingTimeNs) &- ReplayClock.now() &- ReplayClock.coarseMarginNs
                guard coarse > 0 else { break }
                try await ReplayClock.sleepCoarsely(nanoseconds: min(coarse, 10_000_000))
            }
            return try await clock.waitAsync(until: recordingTimeNs)
        }

        mutating func original(_ cursor: FrameCursor, _ clock: inout ReplayClock, _ output: any BatchEmitter) async throws {
            func next(_ run: inout Run) throws -> (frame: Frame, time: Int64)? {
                guard try cursor.advance() else { return nil }
                let f = run.frame(cursor)
                return (f, run.pacingTime(f))
            }
            var pending = try next(&self)
            while let first = pending {
                // While paused nothing is late: overload rules apply to paced frames only.
                if control.pausedSince == nil, leftOut(first.frame, at: first.time, &clock) {
                    pending = try next(&self)
                    continue
                }
                let lateness = try await waitPausable(until: first.time, &clock)
                if let lateness { absorb(lateness: lateness, &clock) }
                var frames = [first.frame]
                var bytes = first.frame.payload.count
                var lastTime = first.time
                pending = try next(&self)
                // Frames already due go out with this one (wait records their lateness, no sleep);
                // a step sends its frames one by one, so exactly those it released go out.
                while lateness != nil, let due = pending, frames.count < config.batchFrames, bytes < Self.maximumBatchBytes,
                      clock.deadline(for: due.time) <= ReplayClock.now() {
                    if !leftOut(due.frame, at: due.time, &clock) {
                        absorb(lateness: clock.wait(until: due.time), &clock)
                        bytes += due.frame.payload.count
                        frames.append(due.frame)
                        lastTime = due.time
                    }
                    pending = try next(&self)
                }
                let last = frames[frames.count - 1].receiveTimeNs
                try await output.emit(Batch(frames: frames, events: events(upTo: last)))
                positionNs = last
                pacingPositionNs = lastTime
                control.reportEmitted(lastNs: last, frames: frames.count)
                progress.reached(last &- startNs, lateness: clock.lateness)
            }
            let rest = events(upTo: nil)
            if !rest.isEmpty { try await output.emit(Batch(events: rest)) }
        }
    }
}

extension RecordingSource {
    public nonisolated var inputFiles: [String] { config.paths }

    /// The recording meta a recording written from this one keeps: the unit of the user
    /// timestamps and the MCAP channels tracks came from, so a file imported from MCAP exports
    /// as the same topics after a pipeline. Only what every part agrees on.
    public nonisolated var sessionMetadata: [String: String] {
        let metas = config.paths.compactMap { try? RecordingReader(path: $0).meta }
        guard metas.count == config.paths.count, let first = metas.first else { return [:] }
        var carried: [String: String] = [:]
        for key in [MCAPChannelOrigin.userTimestampUnitMetaKey, MCAPChannelOrigin.metaKey] {
            if let value = first[key], metas.allSatisfy({ $0[key] == value }) { carried[key] = value }
        }
        return carried
    }
}

extension RecordingSource {
    /// Replay position and duration (seconds of the recording), lateness of the paced replay.
    public func figures() async -> StageFigures {
        let p = progress.state.withLock { $0 }
        var figures = StageFigures()
        figures.gauges["replay_position_seconds"] = Double(p.positionNs) / 1e9
        figures.gauges["replay_duration_seconds"] = Double(p.durationNs) / 1e9
        if config.pace == .original {
            figures.gauges["replay_lateness_seconds"] = Double(p.latenessLastNs) / 1e9
            figures.gauges["replay_lateness_max_seconds"] = Double(p.latenessMaxNs) / 1e9
            // What the controls (keys, RPC) set: the status view shows it.
            let status = control.status
            figures.gauges["replay_rate"] = status.rate
            figures.gauges["replay_paused"] = status.state == .paused ? 1 : 0
        }
        return figures
    }
}

/// The replay's position, written by the source's task after each batch and read by monitors.
final class ReplayProgress: Sendable {
    struct State {
        var positionNs: Int64 = 0
        var durationNs: Int64 = 0
        var latenessLastNs: Int64 = 0
        var latenessMaxNs: Int64 = 0
    }

    let state = Mutex(State())

    func started(durationNs: Int64) { state.withLock { $0.durationNs = max(0, durationNs) } }

    func reached(_ positionNs: Int64?, lateness: LatenessHistogram? = nil) {
        state.withLock { s in
            if let positionNs { s.positionNs = positionNs }
            if let lateness {
                s.latenessLastNs = lateness.lastNs
                s.latenessMaxNs = lateness.maxNs
            }
        }
    }
}
