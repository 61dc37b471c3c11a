import DataTracks
import Logging
import Pipeline
import Recording
import RoomClient
import TrackModel

/// `type: republish` sink: publishes the frames it receives as data tracks in a LiveKit room,
/// under the recorded track names and frame encodings, user timestamps unchanged, so a
/// subscriber that looks tracks up by (identity, name) finds them as it did live.
///
/// By default each recorded publisher identity gets its own participant (with
/// `identity_prefix`/`identity_suffix` around it); `single` (or a fixed token) puts every track
/// on one participant. Frames go out as they arrive: pacing is the upstream's business (the
/// `recording` source's `pace: original`). Recorded `unpublish` events unpublish the track; its
/// next frame publishes it again. A frame that cannot be queued within `push_timeout` (the
/// publisher queue holds 16 frames) is counted as dropped and reported, never lost silently.
///
/// `latch_late_joiners`: for the tracks it names, the sink keeps the last frame it sent, and
/// when the room tells a participant of ours that someone subscribed to one of them
/// (`RoomEvent.localDataTrackSubscribed`), it queues that frame again, unchanged (payload, user
/// timestamp, E2EE ciphertext). The room forwards a data-track frame to every subscriber of the
/// track, so subscribers that were there already receive it a second time.
public actor RepublishSink: SinkStage, StageStatistics, StageMonitoring {
    public static let registration = StageRegistration(
        type: "republish", kind: .sink,
        summary: "publish frames as data tracks into a LiveKit room (one participant per recorded identity)"
    ) { options, context in
        let config = try options.decode(Config.self)
        return .sink(try RepublishSink(config: config, environment: context.environment, stage: context.stageName,
                                       file: context.configPath))
    }

    /// Frames sent and dropped on one track.
    public struct TrackCounts: Sendable, Hashable {
        public var sent: UInt64 = 0
        /// Payload bytes of the frames sent.
        public var bytes: UInt64 = 0
        public var dropped: UInt64 = 0
        /// `dropped` by reason: `not_sealed`, `publisher_queue_full`, `not_published`.
        public var droppedByReason: [String: UInt64] = [:]
        /// Our participant and track name it went out under.
        public var identity = ""
        public var name = ""
        /// Frames sent again to late joiners (`latch_late_joiners`); not in `sent`.
        public var latchedRepeats: UInt64 = 0
    }

    struct Published {
        var track: LocalDataTrack
        var identity: String
    }

    public let config: Config
    /// Frames go back to the room as published payloads; the decoded value is not sent.
    public nonisolated var valueReads: ValueReads { .none }
    let credentials: RoomCredentials
    /// Keys to encrypt plaintext tracks with (nil: they go out as plaintext).
    let keys: E2EEKeyProvider?
    let stageName: String
    let logger: Logger
    var rooms: [String: Task<Room, any Error>] = [:]
    var published: [TrackKey: Published] = [:]
    /// Names in use per participant (`single` may bring two recorded tracks of one name).
    var namesInUse: [String: Set<String>] = [:]
    var counts: [TrackKey: TrackCounts] = [:]
    var pushedPerRoom: [String: Int] = [:]
    /// `latch_late_joiners`, compiled.
    let lateJoinerGlobs: [TrackGlob]
    /// The last frame sent on each track `lateJoinerGlobs` names, as it went out.
    var latestLatched: [TrackKey: DataTrackFrame] = [:]
    /// Per participant: the task that watches its room for new subscribers.
    var subscriptionWatchers: [String: Task<Void, Never>] = [:]

    /// `notice` gets lines worth telling a user (joined, publishing, first drop on a track).
    public init(config: Config, environment: [String: String] = [:], stage: String = "republish", file: String? = nil,
                logger: Logger? = nil) throws {
        self.config = config
        self.logger = logger ?? Logger(label: stage)
        self.stageName = stage
        credentials = try RoomCredentials.resolve(token: config.token, tokenEnv: config.tokenEnv, apiKey: config.apiKey,
                                                  apiSecret: config.apiSecret, environment: environment,
                                                  stage: stage, file: file)
        keys = try config.e2ee?.resolve(environment: environment, stage: stage, file: file).keys
        do {
            lateJoinerGlobs = try config.latchLateJoiners.map(TrackGlob.init)
        } catch {
            throw PipelineError(message: "latch_late_joiners: \(error)", file: file, stage: stage)
        }
    }

    /// Per recorded track: frames sent and dropped so far.
    public func trackCounts() -> [TrackKey: TrackCounts] { counts }

    /// Per track: frames and bytes sent, drops by reason.
    public func figures() async -> StageFigures {
        var figures = StageFigures()
        for (key, c) in counts {
            figures.tracks[key] = TrackFigures(frames: c.sent, bytes: c.bytes, dropped: c.droppedByReason)
        }
        return figures
    }

    /// Counts one frame of `key` lost for `reason`; true for the track's first loss.
    private func countDrop(_ key: TrackKey, _ reason: String) -> Bool {
        counts[key, default: TrackCounts()].dropped += 1
        counts[key, default: TrackCounts()].droppedByReason[reason, default: 0] += 1
        return counts[key]?.dropped == 1
    }

    public func statistics() async -> [(name: String, value: UInt64)] {
        let sent = counts.values.reduce(0) { $0 + $1.sent }
        let dropped = counts.values.reduce(0) { $0 + $1.dropped }
        var statistics: [(name: String, value: UInt64)] = [("frames_sent", sent), ("frames_dropped", dropped),
                                                           ("tracks", UInt64(counts.count))]
        if !lateJoinerGlobs.isEmpty {
            statistics.append(("latched_repeats", counts.values.reduce(0) { $0 + $1.latchedRepeats }))
        }
        return statistics
    }

    /// The participant that publishes a recorded identity's tracks.
    func participantIdentity(for recorded: String) -> String {
        if credentials.isFixedToken { return "(token)" }
        if let single = config.single { return single }
        return config.identityPrefix + recorded + config.identitySuffix
    }

    func room(for identity: String) async throws -> Room {
        if let existing = rooms[identity] { return try await existing.value }
        let config = self.config, credentials = self.credentials, stage = stageName, keys = self.keys
        let task = Task<Room, any Error> {
            // May set its own attributes: `trackbag play` publishes its position there.
            let token = try credentials.token(identity: identity, room: config.room, publish: true, subscribe: false,
                                              updateOwnMetadata: true)
            let room = Room()
            // Passthrough so recorded ciphertext goes out as it came in, with or without keys.
            var options = RoomOptions(e2eePassthrough: true)
            options.e2ee = keys.map(E2EEOptions.init(keyProvider:))
            do {
                try await room.connect(url: config.url, token: token, options: options)
            } catch {
                throw PipelineError(message: "cannot join room '\(config.room)' at \(config.url) as \(identity): \(error)", stage: stage)
            }
            return room
        }
        rooms[identity] = task
        let room = try await task.value
        let joinedAs = await room.identity
        logger.info("joined room '\(config.room)' as \(joinedAs)")
        if !lateJoinerGlobs.isEmpty, subscriptionWatchers[identity] == nil {
            let events = room.events()
            subscriptionWatchers[identity] = Task { [weak self] in
                for await event in events {
                    guard case .localDataTrackSubscribed(let track) = event else { continue }
                    await self?.resendLatched(on: track)
                }
            }
        }
        return room
    }

    /// Someone subscribed to `track`: if it carries a latched recorded track, its last frame goes
    /// out again now (queued behind at most the 16 frames already waiting).
    func resendLatched(on track: LocalDataTrack) async {
        guard let key = published.first(where: { $0.value.track === track })?.key,
              let frame = latestLatched[key] else { return }
        if await push(frame, on: track, key: key) {
            counts[key, default: TrackCounts()].latchedRepeats += 1
            logger.debug("\(key): last frame sent again for a new subscriber")
        }
    }

    /// The participants joined so far, by identity (to register RPC methods on, set attributes).
    public func joinedRooms() async -> [(identity: String, room: Room)] {
        var joined: [(identity: String, room: Room)] = []
        for (identity, task) in rooms.sorted(by: { $0.key < $1.key }) {
            if let room = try? await task.value { joined.append((identity, room)) }
        }
        return joined
    }

    /// Publishes `info`'s track now unless it is published already.
    @discardableResult
    func publish(_ info: TrackInfo) async throws -> LocalDataTrack {
        if let existing = published[info.key] { return existing.track }
        let identity = participantIdentity(for: info.identity)
        let room = try await room(for: identity)
        if let existing = published[info.key] { return existing.track }
        // Two recorded identities with one track name on one participant: the second is
        // published as IDENTITY/NAME so neither is lost.
        var name = info.name
        if namesInUse[identity, default: []].contains(name) { name = "\(info.identity)/\(info.name)" }
        let local: LocalDataTrack
        do {
            local = try await room.localParticipant.publishDataTrack(
                name: name, frameEncoding: DataTrackFrameEncoding(name: info.frameEncoding), schema: info.schema?.name,
                schemaEncoding: Self.schemaEncoding(of: info),
                encrypted: info.encryption == .gcm ? true : nil)
        } catch {
            throw PipelineError(message: "cannot publish \(info.key) as \(identity)/\(name): \(error)", stage: stageName)
        }
        namesInUse[identity, default: []].insert(name)
        published[info.key] = Published(track: local, identity: identity)
        counts[info.key, default: TrackCounts()].identity = identity
        counts[info.key, default: TrackCounts()].name = name
        let joinedAs = await room.identity
        logger.info("publishing \(info.key) as \(joinedAs)/\(name)")
        return local
    }

    /// The schema encoding a track is published with: the recorded one (`ros2msg`,
    /// `protobuf`…), unless it is empty or a custom name LiveKit refuses (a custom schema
    /// encoding must be 1…32 bytes, livekit-server `pkg/rtc/participant_data_track.go`): then
    /// the track goes out with its schema name alone rather than not at all.
    static func schemaEncoding(of info: TrackInfo) -> String? {
        guard let encoding = info.schema?.encoding, (1...32).contains(encoding.utf8.count) else { return nil }
        return encoding
    }

    func unpublish(_ key: TrackKey) async {
        guard let entry = published.removeValue(forKey: key) else { return }
        // Published again later, it is a new track: subscribers get its state from its own frames.
        latestLatched[key] = nil
        await drain(entry.identity)
        namesInUse[entry.identity]?.remove(entry.track.name)
        await entry.track.unpublish()
    }

    /// Joins and publishes every track up front (`trackbag play`, `publish: eager`), so the
    /// first frames are not late by a join.
    public func prepare(tracks: [TrackInfo]) async throws {
        for info in tracks {
            knownInfo[info.key] = info
            try await publish(info)
        }
    }

    /// Waits until `count` participants other than ours are in the room (the viewers), or
    /// `timeout` passes (then throws).
    public func waitForParticipants(_ count: Int, timeout: Duration) async throws {
        guard count > 0 else { return }
        if rooms.isEmpty { _ = try await room(for: config.single ?? "trackbag-player") }
        var ours: Set<String> = []
        var anyRoom: Room?
        for task in rooms.values {
            let room = try await task.value
            ours.insert(await room.identity)
            anyRoom = room
        }
        guard let anyRoom else { return }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let others = await anyRoom.remoteParticipants.keys.filter { !ours.contains($0) }
            if others.count >= count { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw PipelineError(message: "fewer than \(count) other participants joined room '\(config.room)' within \(timeout)",
                            stage: stageName)
    }

    public func write(_ batch: Batch) async throws {
        // Events and frames in time order: an unpublish between two frames takes effect there.
        var events = batch.events[...]
        for frame in batch.frames {
            while let event = events.first, event.timeNs <= frame.receiveTimeNs {
                try await apply(event)
                events = events.dropFirst()
            }
            try await send(frame)
        }
        for event in events { try await apply(event) }
    }

    func apply(_ event: SessionEvent) async throws {
        guard let identity = event.identity, let name = event.track else { return }
        let key = TrackKey(identity: identity, name: name)
        switch event.kind {
        case .unpublish:
            await unpublish(key)
        case .publish where config.publish == .eager:
            // The recorded description is not in the event; the next frame carries it. Publish
            // under what is known now (name), encoding follows from the first frame otherwise.
            if published[key] == nil, let known = knownInfo[key] { try await publish(known) }
        default:
            break
        }
    }

    /// Descriptions learnt from frames (and `prepare`), for eager re-publication.
    var knownInfo: [TrackKey: TrackInfo] = [:]

    func send(_ frame: Frame) async throws {
        let key = frame.track.key
        if knownInfo[key] == nil { knownInfo[key] = frame.track }
        let local = try await publish(frame.track)
        var outgoing = DataTrackFrame(payload: frame.payload, userTimestamp: frame.userTimestamp)
        if frame.track.encryption == .gcm {
            // Recorded ciphertext: the same encrypted frame goes out, key index and IV as recorded.
            do {
                outgoing = DataTrackFrame(sealed: try SealedFrame(stored: frame.payload), userTimestamp: frame.userTimestamp)
            } catch {
                _ = countDrop(key, "not_sealed")
                logger.warning("\(key): frame \(frame.sequence) is not a sealed E2EE frame (\(error)); dropped (counted)")
                return
            }
        }
        if await push(outgoing, on: local, key: key) {
            counts[key, default: TrackCounts()].sent += 1
            counts[key, default: TrackCounts()].bytes += UInt64(frame.payload.count)
            if !lateJoinerGlobs.isEmpty, lateJoinerGlobs.anyMatches(key) { latestLatched[key] = outgoing }
        }
    }

    /// Queues `outgoing` on `local`, waiting up to `push_timeout` for room in its queue; false
    /// (counted as a drop of `key`) when it could not be queued.
    func push(_ outgoing: DataTrackFrame, on local: LocalDataTrack, key: TrackKey) async -> Bool {
        let deadline = ContinuousClock.now + .nanoseconds(config.pushTimeout.nanoseconds)
        var waited = false
        while true {
            do {
                try local.tryPush(outgoing)
                pushedPerRoom[published[key]?.identity ?? "", default: 0] += 1
                return true
            } catch .dropped {
                // The queue drains at network speed: give it a moment before calling it a drop.
                if ContinuousClock.now >= deadline {
                    if countDrop(key, "publisher_queue_full") { logger.warning("\(key): publisher queue full, frames dropped (counted)") }
                    return false
                }
                if waited {
                    try? await Task.sleep(for: .microseconds(200))
                } else {
                    await Task.yield()
                    waited = true
                }
            } catch {
                if countDrop(key, "not_published") { logger.warning("\(key): track not published (\(error)), frames dropped (counted)") }
                return false
            }
        }
    }

    /// Waits (up to 2 s) until the room has sent what we queued on `identity`'s participant.
    func drain(_ identity: String) async {
        guard let task = rooms[identity], let room = try? await task.value else { return }
        let queued = pushedPerRoom[identity] ?? 0
        let deadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < deadline {
            let stats = await room.currentStatistics
            if stats.framesSent + stats.framesNotSent >= queued { return }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Sends what is queued, unpublishes every track and leaves.
    public func finish() async throws {
        // The replay is over: no more latched frames for late joiners.
        for watcher in subscriptionWatchers.values { watcher.cancel() }
        subscriptionWatchers = [:]
        latestLatched = [:]
        for identity in rooms.keys { await drain(identity) }
        // Queued frames are on the data channel now; a moment for them to leave before the
        // connection closes.
        if !published.isEmpty { try? await Task.sleep(for: .milliseconds(300)) }
        for key in Array(published.keys) {
            if let entry = published.removeValue(forKey: key) { await entry.track.unpublish() }
        }
        for task in rooms.values {
            if let room = try? await task.value { await room.disconnect() }
        }
        rooms = [:]
    }
}
