import DataTracks
import Foundation
import LiveKitProtocol
import WebRTCData

/// A LiveKit room seen from one participant: the Swift counterpart of the SDK's `Room`.
///
/// ```swift
/// let room = Room()
/// let events = room.events()              // before connect: sees everything
/// try await room.connect(url: "ws://10.99.0.1:7880", token: token)
/// let track = try await room.localParticipant.publishDataTrack(name: "imu")
/// try track.tryPush(DataTrackFrame(payload: bytes, userTimestamp: now))
/// let remote = try await room.waitForDataTrack(identity: "robot", name: "imu")
/// for await frame in try await remote.subscribe() { … }
/// ```
///
/// This actor owns the room's state: the signal session, peer connections, participants,
/// published and subscribed tracks. Tasks that read sockets call back into it, tagged with
/// the session generation so a lost session's stragglers are ignored.
public actor Room {
    enum ConnectionState: Equatable { case idle, connecting, connected, reconnecting, closed }
    enum SignalMode: Equatable { case singlePeerConnection, twoPeerConnections }

    struct RemoteTrackKey: Hashable, Sendable {
        var identity: String
        var handle: UInt16
    }

    /// A subscriber handle's track and what was lost of it. A track published anew (its
    /// publisher re-joined) numbers its frames from the start again: a new ledger.
    struct TrackLosses: Sendable {
        let key: RemoteTrackKey
        let sid: String
        var ledger = FrameLossLedger()
    }

    struct RemoteParticipantState {
        var identity: String
        var sid: String
        var version: UInt32
        var tracks: [UInt16: DataTrackPublication]
    }

    struct LocalTrackState {
        var publication: DataTrackPublication
        var packetizer: Packetizer
        var track: LocalDataTrack
        var sender: Task<Void, Never>?
    }

    /// Counters for tests and benchmarks.
    public struct Statistics: Sendable, Equatable {
        public var framesSent = 0
        public var framesNotSent = 0
        public var packetsReceived = 0
        public var framesReceived = 0
        /// Packets for a subscriber handle we do not know.
        public var unknownHandlePackets = 0
        public var malformedPackets = 0
        /// Frames the depacketizer dropped (gap, too many packets, …).
        public var depacketizerDrops = 0
        /// Encrypted frames not delivered, all reasons (the sum of `e2eeDrops`).
        public var decryptFailures = 0
        /// Encrypted frames not delivered, per reason.
        public var e2eeDrops = E2EEDrops()
        /// Frames dropped because a subscription's buffer was full.
        public var subscriberBufferDrops = 0
        public var reconnects = 0
        /// Join attempts `connect` made again after one failed (`RoomOptions.joinRetries`).
        public var joinRetries = 0
        /// DataPackets on `_reliable` that did not decode.
        public var malformedDataPackets = 0
        /// DataPackets that are not RPC (user data, chat, streams): this client does not read them.
        public var ignoredDataPackets = 0
        /// DataPackets (RPC) not sent: no `_reliable` channel (re-joining) or the send failed.
        public var dataPacketsNotSent = 0
        /// RPC acks and responses that matched no call of ours (late, after a timeout).
        public var unmatchedRpcPackets = 0
        /// Attribute updates the server refused (no `canUpdateOwnMetadata`, over the limits).
        public var attributeUpdatesRefused = 0
    }

    /// Why frames were dropped by E2EE (never delivered).
    public struct E2EEDrops: Sendable, Equatable {
        /// No E2EE configured and not in passthrough mode.
        public var noKeyProvider = 0
        /// The frame of an encrypted track had no extension 1.
        public var missingExtension = 0
        /// No key at the frame's key index for its publisher.
        public var unknownKeyIndex = 0
        /// The GCM tag did not verify (wrong key, or an altered frame).
        public var authenticationFailed = 0
        /// Plaintext frames of a track the server labels unencrypted, refused in strict mode
        /// (`E2EEOptions.strict`); not a decryption failure, so not in `total`.
        public var plaintextRefused = 0
        /// Encrypted frames that could not be decrypted, all reasons.
        public var total: Int { noKeyProvider + missingExtension + unknownKeyIndex + authenticationFailed }
    }

    // MARK: State

    private let hub = EventHub()
    var options = RoomOptions()
    var state: ConnectionState = .idle
    var mode: SignalMode = .singlePeerConnection
    var generation = 0
    var url = ""
    var token = ""

    var signal: SignalConnection?
    var publisher: PeerConnection?
    var subscriber: PeerConnection?
    var dataTrackChannel: DataChannel?
    /// The publisher connection's `_reliable`: DataPackets out (RPC).
    var reliableChannel: DataChannel?
    /// `DataPacket.sequence` of the last reliable packet we sent.
    var reliableSequence: UInt32 = 0
    var rpc = RpcEndpoint()
    var rpcHandlers: [String: RpcHandler] = [:]
    var rpcWaiters: [String: OneShot<Result<String, RpcError>>] = [:]
    var rpcTimer: Task<Void, Never>?
    var rpcTimerDeadlineMs: Int64?
    /// `request_id` of our last `update_metadata`.
    var metadataRequestID: UInt32 = 0
    var sessionTasks: [Task<Void, Never>] = []
    var joinWaiter: OneShot<Result<Livekit_JoinResponse, RoomClientError>>?
    var publisherAnswered: OneShot<Void>?
    var liveness: SignalLiveness?

    var localIdentity = ""
    var localSid = ""
    var roomName = ""
    var roomSid = ""
    var remote: [String: RemoteParticipantState] = [:]
    var handleMap = SubscriberHandleMap()
    var depacketizers: [UInt16: Depacketizer] = [:]
    /// Per subscriber handle: the track it carries and what was lost of it.
    var frameLosses: [UInt16: TrackLosses] = [:]
    var subscriptions: [RemoteTrackKey: SubscriptionFanout] = [:]
    /// The sid each subscribed key is subscribed under in the current session.
    var subscribedSids: [RemoteTrackKey: String] = [:]
    /// After a re-join, tracks missing from the room may be on their way back (their publisher
    /// re-joins too): subscriptions wait for them until this deadline.
    var pendingUntil: ContinuousClock.Instant?
    /// Subscribed tracks that vanished but are expected back, with the time we stop waiting.
    var pendingTracks: [RemoteTrackKey: ContinuousClock.Instant] = [:]
    /// How long subscriptions wait for a track whose publisher is re-joining.
    static let republishGrace: Duration = .seconds(20)
    /// Pause between join attempts: a moment for the server to drop the failed attempt's
    /// session (the next one has the same identity and replaces it anyway).
    static let joinRetryPause: Duration = .milliseconds(300)

    var handles = HandleAllocator()
    var localTracks: [UInt16: LocalTrackState] = [:]
    var pendingPublishes: [UInt16: OneShot<Result<DataTrackPublication, RoomClientError>>] = [:]
    var cryptor: FrameCryptor?
    var statistics = Statistics()
    var trackWaiters: [(key: (String, String), waiter: OneShot<RemoteDataTrack?>)] = []

    public init() {}

    // MARK: Public API

    /// A stream of room events; make it before `connect` to see every event.
    public nonisolated func events() -> AsyncStream<RoomEvent> { hub.stream() }

    /// Calls `handler` for every event, in order, from now on.
    public nonisolated func addEventHandler(_ handler: @escaping @Sendable (RoomEvent) async -> Void) {
        let stream = hub.stream()
        Task { for await event in stream { await handler(event) } }
    }

    public nonisolated var localParticipant: LocalParticipant { LocalParticipant(room: self) }

    public var isConnected: Bool { state == .connected }
    public var name: String { roomName }
    public var sid: String { roomSid }
    public var identity: String { localIdentity }
    public var currentStatistics: Statistics {
        var current = statistics
        current.unmatchedRpcPackets = rpc.unmatched
        return current
    }
    /// Which signaling path the current session uses.
    public var usesSinglePeerConnection: Bool { mode == .singlePeerConnection }

    /// Takes `options` for this room's life (E2EE keys become the cryptor).
    func adopt(_ options: RoomOptions) {
        self.options = options
        cryptor = options.e2ee.map { FrameCryptor(keys: $0.keyProvider) }
    }

    public var remoteParticipants: [String: RemoteParticipant] {
        remote.mapValues { snapshot(of: $0) }
    }

    /// Joins the room at `url` (ws:// or wss://, e.g. `ws://10.99.0.1:7880`) with `token`.
    public func connect(url: String, token: String, options: RoomOptions = RoomOptions()) async throws(RoomClientError) {
        guard state == .idle else { throw .invalidArgument("connect: room already used (state \(state))") }
        adopt(options)
        self.url = try Self.normalizedBaseURL(url)
        self.token = token
        mode = options.singlePeerConnection ? .singlePeerConnection : .twoPeerConnections
        state = .connecting
        var failures = 0
        while true {
            do {
                try await establishSession()
                break
            } catch {
                tearDownSession()
                failures += 1
                guard failures <= options.joinRetries, error.mayPassOnAnotherAttempt, !Task.isCancelled else {
                    state = .closed
                    hub.finish()
                    throw failures > 1 ? .joinFailed(attempts: failures, last: error) : error
                }
                statistics.joinRetries += 1
                try? await Task.sleep(for: Self.joinRetryPause)
            }
        }
        state = .connected
        hub.emit(.connected)
    }

    /// Leaves the room: `leave` to the server, connections closed, tracks and subscriptions ended.
    public func disconnect() async {
        guard state != .closed else { return }
        signal?.send(SignalRequests.leave())
        close(reason: "client disconnect")
    }

    /// The track `name` of `identity`, waiting until it is published (or `timeout` passes).
    public func waitForDataTrack(identity: String, name: String,
                                 timeout: Duration = .seconds(30)) async throws(RoomClientError) -> RemoteDataTrack {
        if let track = findTrack(identity: identity, name: name) { return track }
        guard state != .closed else { throw .notConnected }
        let waiter = OneShot<RemoteDataTrack?>()
        trackWaiters.append(((identity, name), waiter))
        let timer = Task {
            try? await Task.sleep(for: timeout)
            waiter.fulfil(nil)
        }
        let found = await waiter.value
        timer.cancel()
        guard let found else { throw .timeout("data track \(identity)/\(name)") }
        return found
    }

    // MARK: Helpers

    func snapshot(of participant: RemoteParticipantState) -> RemoteParticipant {
        var tracks: [String: RemoteDataTrack] = [:]
        for publication in participant.tracks.values {
            tracks[publication.name] = RemoteDataTrack(publisherIdentity: participant.identity, info: publication, room: self)
        }
        return RemoteParticipant(identity: participant.identity, sid: participant.sid, dataTracks: tracks)
    }

    func findTrack(identity: String, name: String) -> RemoteDataTrack? {
        guard let participant = remote[identity],
              let publication = participant.tracks.values.first(where: { $0.name == name }) else { return nil }
        return RemoteDataTrack(publisherIdentity: identity, info: publication, room: self)
    }

    func emit(_ event: RoomEvent) { hub.emit(event) }

    /// Ends everything for good.
    func close(reason: String) {
        guard state != .closed else { return }
        state = .closed
        tearDownSession()
        for (_, local) in localTracks {
            local.track.close()
            local.sender?.cancel()
        }
        localTracks = [:]
        for key in subscriptions.keys { subscriptions[key]?.finishAll() }
        subscriptions = [:]
        for pending in pendingPublishes.values { pending.fulfil(.failure(.notConnected)) }
        pendingPublishes = [:]
        for waiter in trackWaiters { waiter.waiter.fulfil(nil) }
        trackWaiters = []
        rpcClosed()
        hub.emit(.disconnected(reason: reason))
        hub.finish()
    }

    /// `ws://host:port` from what the user gave (http(s) accepted, trailing `/` and a trailing
    /// `/rtc` path removed).
    static func normalizedBaseURL(_ text: String) throws(RoomClientError) -> String {
        var value = text.trimmingCharacters(in: .whitespaces)
        if value.hasPrefix("http://") { value = "ws://" + value.dropFirst(7) }
        if value.hasPrefix("https://") { value = "wss://" + value.dropFirst(8) }
        guard value.hasPrefix("ws://") || value.hasPrefix("wss://"),
              let components = URLComponents(string: value), let host = components.host, !host.isEmpty else {
            throw .invalidURL(text)
        }
        while value.hasSuffix("/") { value.removeLast() }
        return value
    }
}

/// The local participant: publishes data tracks.
public struct LocalParticipant: Sendable {
    let room: Room

    public var identity: String { get async { await room.identity } }

    /// Publishes a data track: picks the lowest free handle, asks the server, and returns once
    /// the server confirmed it (or rejected it: `.requestRejected` with the reason, e.g.
    /// `DUPLICATE_NAME`, or `NOT_ALLOWED` without `canPublishData`).
    ///
    /// `encrypted` (default: whether the room has E2EE keys) publishes with `encryption: GCM`;
    /// without keys that takes E2EE passthrough, and every pushed frame must carry its `e2ee`.
    /// `schema` and `schemaEncoding` (MCAP's registry names: `ros2msg`, `protobuf`…) are the
    /// `DataTrackSchemaId` subscribers see.
    public func publishDataTrack(name: String, frameEncoding: DataTrackFrameEncoding? = nil,
                                 schema: String? = nil, schemaEncoding: String? = nil,
                                 encrypted: Bool? = nil) async throws(RoomClientError) -> LocalDataTrack {
        try await room.publish(name: name, frameEncoding: frameEncoding, schema: schema, schemaEncoding: schemaEncoding,
                               encrypted: encrypted)
    }
}
