import DataTracks
import Logging
import Pipeline
import Recording
import RoomClient
import Synchronization
import TrackModel

/// `type: room` source: joins a LiveKit room and turns every matching data track into frames,
/// with the room's session events (join, leave, publish, unpublish, our own reconnects, drops)
/// beside them, until the pipeline stops it.
///
/// It subscribes to tracks present when it joins, tracks published later, and tracks
/// re-published after their publisher re-joined (the room client keeps a subscription waiting
/// across a publisher's re-join; a track unpublished and published again gets a new one).
/// Receive time is the session clock at delivery (Unix ns that a system clock step does not move); the user timestamp is passed on untouched.
///
/// Live sources default to drop-oldest edges (`isLive`), so a slow pipeline never stalls the
/// room; what is dropped anywhere on our side is counted and emitted as `drop` events.
public struct RoomSource: SourceStage, StageStatistics, StageMonitoring {
    public static let registration = StageRegistration(
        type: "room", kind: .source,
        summary: "record data tracks from a LiveKit room (url, room, identity, credentials, track globs)",
        isLive: true
    ) { options, context in
        let config = try options.decode(Config.self)
        return .source(try RoomSource(config: config, environment: context.environment,
                                      stage: context.stageName, file: context.configPath))
    }

    public let config: Config
    let globs: [TrackGlob]
    let credentials: RoomCredentials
    /// Encrypted tracks: passthrough (ciphertext kept as `SealedFrame`s) or decrypt.
    let e2ee: E2EESettings.Resolved
    let stageName: String
    /// Per-track counts, readable while and after the source runs (`trackbag record` prints them).
    public let tally = RoomSourceTally()
    /// Where it tells what a user should know: joined, subscribed (info), reconnecting, left,
    /// could not subscribe (warning). Labelled with the stage's name unless set.
    public var logger: Logger
    /// Called once the room is joined, e.g. to register RPC methods on the recorder
    /// (`record --snapshot`'s `trackbag.snapshot`). Set, the recorder's token also carries
    /// `canPublishData` (with signed tokens), which answering RPC needs.
    public var onJoined: (@Sendable (Room) async -> Void)?

    /// Checks the globs and resolves the credentials; the room is joined by `run`.
    public init(config: Config, environment: [String: String] = [:], stage: String = "room", file: String? = nil) throws {
        self.config = config
        self.stageName = stage
        logger = Logger(label: stage)
        var globs: [TrackGlob] = []
        for (i, pattern) in config.tracks.enumerated() {
            do { globs.append(try TrackGlob(pattern)) } catch {
                let e = error
                throw PipelineError(message: "tracks[\(i)]: \(e.message)", file: file, stage: stage)
            }
        }
        self.globs = globs
        credentials = try RoomCredentials.resolve(token: config.token, tokenEnv: config.tokenEnv, apiKey: config.apiKey,
                                                  apiSecret: config.apiSecret, environment: environment,
                                                  stage: stage, file: file)
        e2ee = try (config.e2ee ?? E2EESettings()).resolve(environment: environment, stage: stage, file: file)
    }

    public func statistics() async -> [(name: String, value: UInt64)] {
        let totals = tally.totals()
        return [("frames_received", totals.frames), ("frames_dropped", totals.dropped), ("reconnects", totals.reconnects)]
    }

    /// The tally as live figures: per-track frames, bytes and drops by reason, reconnects.
    public func figures() async -> StageFigures {
        var figures = StageFigures()
        for (key, track) in tally.tracks() {
            figures.tracks[key] = TrackFigures(frames: track.frames, bytes: track.bytes, dropped: track.droppedByReason,
                                               missing: track.missing)
        }
        figures.untrackedDrops = tally.untrackedByReason()
        figures.counters["reconnects"] = tally.totals().reconnects
        return figures
    }

    public func run(into output: any BatchEmitter) async throws {
        let room = Room()
        let events = room.events()
        let token = try credentials.token(identity: config.identity, room: config.room, publish: false, subscribe: true,
                                          hidden: config.hidden, publishData: onJoined != nil)
        var options = RoomOptions()
        switch e2ee.mode {
        case .passthrough: options.e2eePassthrough = true
        // A recorder keeps plaintext tracks too (strict off): the file labels each track's
        // encryption as the server announced it, so plaintext never poses as decrypted data.
        case .decrypt: options.e2ee = e2ee.keys.map { E2EEOptions(keyProvider: $0, strict: false) }
        }
        do {
            try await room.connect(url: config.url, token: token, options: options)
        } catch {
            throw PipelineError(message: "cannot join room '\(config.room)' at \(config.url): \(error)", stage: stageName)
        }
        let joinedAs = await room.identity
        logger.info("joined room '\(config.room)' at \(config.url) as \(joinedAs)")
        await onJoined?(room)
        let buffer = LiveBatchBuffer(limit: max(65_536, config.bufferSize * 16))
        let subscriptions = TrackSubscriptions(room: room, globs: globs, bufferSize: config.bufferSize,
                                               decrypts: e2ee.mode == .decrypt, buffer: buffer, tally: tally, logger: logger)
        let eventTask = Task { for await event in events { await subscriptions.handle(event) } }
        // Drops are counted where they happen; once a second the new ones become events.
        let dropTask = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await subscriptions.reportDrops()
            }
        }
        var failure: (any Error)?
        // A pipeline stop ends the loop through the buffer (the task is not cancelled), so the
        // last frames still go out through the edge, which may block; cancellation is abort.
        await withSourceStopHandler {
            await withTaskCancellationHandler {
                do {
                    for await _ in buffer.wakes {
                        let batch = buffer.take()
                        if !batch.isEmpty { try await output.emit(batch) }
                    }
                } catch {
                    failure = error
                }
            } onCancel: {
                buffer.finish(reason: nil)
            }
        } onStop: {
            buffer.finish(reason: nil)
        }
        eventTask.cancel()
        dropTask.cancel()
        await subscriptions.stopAll()
        let rest = buffer.take()
        if !rest.isEmpty, failure == nil, !Task.isCancelled { try await output.emit(rest) }
        if let failure, !(failure is CancellationError) { throw failure }
        if let reason = buffer.endReason, !Task.isCancelled, !isSourceStopRequested {
            throw PipelineError(message: "room '\(config.room)' disconnected: \(reason)", stage: stageName)
        }
    }
}

/// Frames and events waiting for the source's emit loop. Subscription readers add from their
/// own tasks; the loop takes everything at once, so batches grow under load and stay single
/// frames when it is quiet (docs/ARCHITECTURE.md). Bounded: beyond `limit` waiting frames, new ones are
/// counted as dropped.
final class LiveBatchBuffer: Sendable {
    struct State {
        var frames: [Frame] = []
        var events: [SessionEvent] = []
        var sequence: UInt64 = 0
        var overflow = 0
        var endReason: String?
    }

    let limit: Int
    let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = limit
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// False when the buffer was full and the frame was dropped (counted in `overflow`).
    @discardableResult
    func add(frame: Frame) -> Bool {
        let added = state.withLock { s -> Bool in
            guard s.frames.count < limit else {
                s.overflow += 1
                return false
            }
            var f = frame
            f.sequence = s.sequence
            s.sequence += 1
            s.frames.append(f)
            return true
        }
        if added { wake.yield(()) }
        return added
    }

    func add(event: SessionEvent) {
        state.withLock { $0.events.append(event) }
        wake.yield(())
    }

    func take() -> Batch {
        state.withLock { s in
            defer {
                s.frames.removeAll(keepingCapacity: true)
                s.events.removeAll()
            }
            return Batch(frames: s.frames, events: s.events)
        }
    }

    var overflow: Int { state.withLock { $0.overflow } }
    var endReason: String? { state.withLock { $0.endReason } }

    /// Ends the emit loop: the room is gone (`reason`) or the pipeline stops (nil).
    func finish(reason: String?) {
        state.withLock { if $0.endReason == nil { $0.endReason = reason } }
        wake.finish()
    }
}

/// Per-track figures of a room source: frames, bytes, drops, first and last receive time.
public final class RoomSourceTally: Sendable {
    public struct Track: Sendable, Hashable {
        public var frames: UInt64 = 0
        public var bytes: UInt64 = 0
        public var dropped: UInt64 = 0
        /// `dropped` by reason (`RoomSourceTally.Reason`).
        public var droppedByReason: [String: UInt64] = [:]
        /// Frames never seen, from skipped frame numbers, as reported in `gap` events.
        public var missing: UInt64 = 0
        public var firstNs: Int64 = 0
        public var lastNs: Int64 = 0
    }
    public struct Totals: Sendable, Hashable {
        public var frames: UInt64 = 0
        public var dropped: UInt64 = 0
        public var reconnects: UInt64 = 0
        /// Frames lost before they could be tied to a track (incomplete frames, full buffer).
        public var untracked: UInt64 = 0
    }

    /// Why frames were lost on our side; the metric label `reason` (docs/operations.md).
    enum Reason {
        static let subscriptionBufferFull = "subscription_buffer_full"
        static let incomplete = "incomplete"
        static let undecryptable = "undecryptable"
        static let recorderBufferFull = "recorder_buffer_full"
    }

    private let state = Mutex<(tracks: [TrackKey: Track], reconnects: UInt64, untracked: [String: UInt64])>(([:], 0, [:]))

    public init() {}

    func received(_ key: TrackKey, bytes: Int, at ns: Int64) {
        state.withLock { s in
            var t = s.tracks[key] ?? Track()
            if t.frames == 0 { t.firstNs = ns }
            t.frames += 1
            t.bytes += UInt64(bytes)
            t.lastNs = ns
            s.tracks[key] = t
        }
    }

    func dropped(_ key: TrackKey?, _ count: Int, reason: String) {
        guard count > 0 else { return }
        state.withLock { s in
            guard let key else {
                s.untracked[reason, default: 0] += UInt64(count)
                return
            }
            s.tracks[key, default: Track()].dropped += UInt64(count)
            s.tracks[key, default: Track()].droppedByReason[reason, default: 0] += UInt64(count)
        }
    }

    func missed(_ key: TrackKey, _ count: Int) {
        guard count > 0 else { return }
        state.withLock { $0.tracks[key, default: Track()].missing += UInt64(count) }
    }

    /// Frames lost before they could be tied to a track, by reason.
    public func untrackedByReason() -> [String: UInt64] { state.withLock { $0.untracked } }

    func reconnected() { state.withLock { $0.reconnects += 1 } }

    /// A snapshot of every track seen so far.
    public func tracks() -> [TrackKey: Track] { state.withLock { $0.tracks } }

    public func totals() -> Totals {
        state.withLock { s in
            var t = Totals()
            for track in s.tracks.values {
                t.frames += track.frames
                t.dropped += track.dropped
            }
            let untracked = s.untracked.values.reduce(0, +)
            t.dropped += untracked
            t.untracked = untracked
            t.reconnects = s.reconnects
            return t
        }
    }
}

/// The subscriptions of one room source, one per matching (identity, name), and the room events
/// turned into session events. An actor so that a publish event and a subscription that just
/// ended never both subscribe the same track.
actor TrackSubscriptions {
    /// A subscription being read. `info` follows re-publications (new sid) of the same track.
    struct Reader {
        var id: Int
        var info: InfoCell
        var subscription: DataTrackSubscription?
        var task: Task<Void, Never>?
        var reportedDrops = 0
        var reportedIncomplete = 0
        var reportedMissing = 0
    }

    /// The current description of a track, shared by its reader task and the actor.
    final class InfoCell: Sendable {
        private let lock: Mutex<TrackInfo>
        init(_ value: TrackInfo) { lock = Mutex(value) }
        var value: TrackInfo { lock.withLock { $0 } }
        func set(_ value: TrackInfo) { lock.withLock { $0 = value } }
    }

    let room: Room
    let globs: [TrackGlob]
    let bufferSize: Int
    /// Frames of encrypted tracks arrive decrypted: the recording holds plaintext.
    let decrypts: Bool
    let buffer: LiveBatchBuffer
    let tally: RoomSourceTally
    let logger: Logger
    var readers: [TrackKey: Reader] = [:]
    var nextID = 0
    var stopped = false
    var reportedE2EEDrops = 0
    var reportedOverflow = 0
    /// Receive and event times (schemas/recording-format.md, "Clocks").
    let clock = SessionClock.system
    var clockSteps = ClockStepWatch(offsetNs: SessionClock.system.systemOffsetNs())

    init(room: Room, globs: [TrackGlob], bufferSize: Int, decrypts: Bool = false, buffer: LiveBatchBuffer,
         tally: RoomSourceTally, logger: Logger) {
        self.room = room
        self.globs = globs
        self.bufferSize = bufferSize
        self.decrypts = decrypts
        self.buffer = buffer
        self.tally = tally
        self.logger = logger
    }

    /// The recorded description; `decrypted` tracks are stored as plaintext, so not `gcm`.
    static func info(of track: RemoteDataTrack, decrypted: Bool = false) -> TrackInfo {
        TrackInfo(identity: track.publisherIdentity, name: track.name, sid: track.sid.isEmpty ? nil : track.sid,
                  pubHandle: track.info.handle, encryption: track.info.encrypted && !decrypted ? .gcm : .none,
                  frameEncoding: track.info.frameEncoding?.name,
                  schema: track.info.schema.map { SchemaInfo(name: $0, encoding: track.info.schemaEncoding ?? "") })
    }

    func handle(_ event: RoomEvent) async {
        let now = clock.nowNs()
        switch event {
        case .connected:
            break
        case .participantConnected(let p):
            buffer.add(event: SessionEvent(timeNs: now, kind: .join, identity: p.identity, detail: "sid \(p.sid)"))
        case .participantDisconnected(let p):
            buffer.add(event: SessionEvent(timeNs: now, kind: .leave, identity: p.identity, detail: "sid \(p.sid)"))
        case .dataTrackPublished(let track):
            let key = TrackKey(identity: track.publisherIdentity, name: track.name)
            guard globs.anyMatches(key) else { return }
            buffer.add(event: SessionEvent(timeNs: now, kind: .publish, identity: key.identity, track: key.name,
                                           detail: "sid \(track.sid) handle \(track.info.handle)"))
            await subscribe(track)
        case .dataTrackUnpublished(let track):
            let key = TrackKey(identity: track.publisherIdentity, name: track.name)
            guard globs.anyMatches(key) else { return }
            buffer.add(event: SessionEvent(timeNs: now, kind: .unpublish, identity: key.identity, track: key.name,
                                           detail: "sid \(track.sid)"))
        case .reconnecting(let reason):
            tally.reconnected()
            logger.warning("reconnecting: \(reason)")
            buffer.add(event: SessionEvent(timeNs: now, kind: .reconnect, detail: "reconnecting: \(reason)"))
        case .localDataTrackSubscribed:
            break
        case .reconnected:
            logger.info("reconnected")
            buffer.add(event: SessionEvent(timeNs: now, kind: .reconnect, detail: "reconnected"))
        case .disconnected(let reason):
            if !stopped {
                logger.warning("disconnected: \(reason)")
                buffer.add(event: SessionEvent(timeNs: now, kind: .leave, identity: await room.identity, detail: reason))
                buffer.finish(reason: reason)
            }
        }
    }

    /// Subscribes to `track` unless a subscription for its (identity, name) is being read; then
    /// only the track's description (sid after a re-publication) is refreshed.
    func subscribe(_ track: RemoteDataTrack) async {
        let key = TrackKey(identity: track.publisherIdentity, name: track.name)
        guard !stopped, globs.anyMatches(key) else { return }
        let info = Self.info(of: track, decrypted: decrypts)
        if let reader = readers[key] {
            reader.info.set(info)
            return
        }
        let id = nextID
        nextID += 1
        let infoBox = InfoCell(info)
        readers[key] = Reader(id: id, info: infoBox)
        let subscription: DataTrackSubscription
        do {
            subscription = try await track.subscribe(bufferSize: bufferSize)
        } catch {
            if readers[key]?.id == id { readers[key] = nil }
            logger.warning("could not subscribe to \(key): \(error)")
            buffer.add(event: SessionEvent(timeNs: clock.nowNs(), kind: .note, identity: key.identity, track: key.name,
                                           detail: "subscribe failed: \(error)"))
            return
        }
        guard readers[key]?.id == id else { return }
        let buffer = self.buffer, tally = self.tally, clock = self.clock
        // Detached: frames must not queue behind the actor's own work.
        let task = Task.detached {
            for await frame in subscription {
                let now = clock.nowNs()
                tally.received(key, bytes: frame.payload.count, at: now)
                if let sealed = frame.sealed {
                    // E2EE passthrough: ciphertext with its key index and IV, marked encrypted.
                    var info = infoBox.value
                    info.encryption = .gcm
                    buffer.add(frame: Frame(track: info, payload: sealed.stored, userTimestamp: frame.userTimestamp,
                                            receiveTimeNs: now))
                } else {
                    buffer.add(frame: Frame(track: infoBox.value, payload: frame.payload, userTimestamp: frame.userTimestamp,
                                            receiveTimeNs: now))
                }
            }
            await self.readerEnded(key, id: id)
        }
        readers[key]?.subscription = subscription
        readers[key]?.task = task
        logger.info("recording \(key) (sid \(track.sid))")
    }

    /// A subscription ended (track unpublished, or its publisher did not come back). If the
    /// track is in the room again by now (unpublished and published again), subscribe anew.
    func readerEnded(_ key: TrackKey, id: Int) async {
        guard let reader = readers[key], reader.id == id else { return }
        reportDrops(of: key)
        readers[key] = nil
        guard !stopped else { return }
        if let track = await room.remoteParticipants[key.identity]?.dataTracks[key.name] {
            await subscribe(track)
        }
    }

    /// A track's losses since the last report, as events on that track: frames our
    /// subscription buffer dropped (ours), frames that arrived incomplete (a packet lost on the
    /// way), and frames of which nothing arrived (frame numbers skipped: the sender, the link or
    /// the server lost them; the server's own counts say whether it was the server).
    private func reportDrops(of key: TrackKey) {
        guard let subscription = readers[key]?.subscription else { return }
        let now = clock.nowNs()
        report(subscription.droppedFrames, since: \.reportedDrops, of: key, as: .drop,
               countsAsDropped: RoomSourceTally.Reason.subscriptionBufferFull, at: now,
               detail: "subscription buffer full (buffer_size \(bufferSize))")
        report(subscription.incompleteFrames, since: \.reportedIncomplete, of: key, as: .drop,
               countsAsDropped: RoomSourceTally.Reason.incomplete, at: now,
               detail: "incomplete frames (packets lost before reassembly)")
        // Not ours to count as dropped. A number counts missing only after it stayed away a
        // second (FrameLossLedger), so a reordered frame is not reported lost; one later still
        // takes the count back down, and an event reports only growth.
        report(subscription.missingFrames, since: \.reportedMissing, of: key, as: .gap, countsAsDropped: nil, at: now,
               detail: "frame numbers skipped: frames that never arrived (lost by the sender, the link or the server)")
    }

    /// An event on `key`'s track for what `count` grew by since it was last reported; counted
    /// in the tally as dropped for the reason given, or as missing (a gap is not ours to count).
    private func report(_ count: Int, since reported: WritableKeyPath<Reader, Int>, of key: TrackKey,
                        as kind: SessionEvent.Kind, countsAsDropped reason: String?, at now: Int64, detail: String) {
        guard let before = readers[key]?[keyPath: reported], count > before else { return }
        readers[key]?[keyPath: reported] = count
        if let reason { tally.dropped(key, count - before, reason: reason) } else { tally.missed(key, count - before) }
        buffer.add(event: SessionEvent(timeNs: now, kind: kind, identity: key.identity, track: key.name,
                                       count: Int64(count - before), detail: detail))
    }

    /// Turns drops counted since the last call into `drop` events, and a step of the system
    /// clock into a `note`: the file's times keep following the session clock.
    func reportDrops() async {
        await room.settleFrameLosses()
        for key in readers.keys { reportDrops(of: key) }
        if let step = clockSteps.check(offsetNs: clock.systemOffsetNs()) {
            let text = ClockStepWatch.describe(stepNs: step)
            logger.warning("\(text)")
            buffer.add(event: SessionEvent(timeNs: clock.nowNs(), kind: .note, detail: text))
        }
        let stats = await room.currentStatistics
        let now = clock.nowNs()
        let undecrypted = stats.e2eeDrops.total - reportedE2EEDrops
        if undecrypted > 0 {
            reportedE2EEDrops = stats.e2eeDrops.total
            tally.dropped(nil, undecrypted, reason: RoomSourceTally.Reason.undecryptable)
            let d = stats.e2eeDrops
            buffer.add(event: SessionEvent(timeNs: now, kind: .drop, count: Int64(undecrypted),
                                           detail: "encrypted frames not delivered (total: \(d.authenticationFailed) failed authentication, "
                                               + "\(d.unknownKeyIndex) unknown key index, \(d.missingExtension) without E2EE extension)"))
        }
        let overflow = buffer.overflow - reportedOverflow
        if overflow > 0 {
            reportedOverflow = buffer.overflow
            tally.dropped(nil, overflow, reason: RoomSourceTally.Reason.recorderBufferFull)
            buffer.add(event: SessionEvent(timeNs: now, kind: .drop, count: Int64(overflow),
                                           detail: "recorder buffer full (pipeline too slow)"))
        }
    }

    /// Leaves the room; the subscriptions end and their readers pass on what they still hold.
    func stopAll() async {
        await reportDrops()
        stopped = true
        await room.disconnect()
        let tasks = readers.values.compactMap(\.task)
        for task in tasks { await task.value }
        readers = [:]
    }
}
