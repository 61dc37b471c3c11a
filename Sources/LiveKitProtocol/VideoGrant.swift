/// The `video` claim of a LiveKit access token: what its holder may do in rooms.
///
/// JSON keys and optionality follow livekit/protocol `auth/grants.go` (`VideoGrant`); absent keys
/// stay nil so a token re-encodes as it came. The permission rules (the `allows…` properties)
/// are Go's `GetCanPublish`/`GetCanSubscribe`/`GetCanPublishData`/`GetCanUpdateOwnMetadata`.
public struct VideoGrant: Codable, Equatable, Sendable {
    public var roomCreate: Bool?
    public var roomList: Bool?
    public var roomRecord: Bool?
    public var roomAdmin: Bool?
    public var roomJoin: Bool?
    public var room: String?
    public var canPublish: Bool?
    public var canSubscribe: Bool?
    public var canPublishData: Bool?
    /// Track sources (`camera`, `microphone`, …) that may be published; empty means all.
    public var canPublishSources: [String]?
    public var canUpdateOwnMetadata: Bool?
    public var ingressAdmin: Bool?
    public var hidden: Bool?
    public var recorder: Bool?
    public var agent: Bool?
    public var canSubscribeMetrics: Bool?
    public var destinationRoom: String?

    public init(roomJoin: Bool? = nil, room: String? = nil, canPublish: Bool? = nil,
                canSubscribe: Bool? = nil, canPublishData: Bool? = nil,
                canUpdateOwnMetadata: Bool? = nil, hidden: Bool? = nil) {
        self.roomJoin = roomJoin
        self.room = room
        self.canPublish = canPublish
        self.canSubscribe = canSubscribe
        self.canPublishData = canPublishData
        self.canUpdateOwnMetadata = canUpdateOwnMetadata
        self.hidden = hidden
    }

    /// A missing `canPublish` means yes.
    public var allowsPublish: Bool { canPublish ?? true }
    /// A missing `canSubscribe` means yes.
    public var allowsSubscribe: Bool { canSubscribe ?? true }
    /// A missing `canPublishData` follows `canPublish`: data tracks and data packets need it.
    public var allowsPublishData: Bool { canPublishData ?? allowsPublish }
    /// A missing `canUpdateOwnMetadata` means no.
    public var allowsUpdateOwnMetadata: Bool { canUpdateOwnMetadata ?? false }
    /// The room this grant lets its holder join, given the room a client asked for (the `/rtc`
    /// `room` query parameter), or nil when it may not join. livekit-server
    /// `EnsureJoinPermission` + `validateInternal`: `roomJoin` is required and the token's room,
    /// when set, wins over the requested one.
    public func roomToJoin(requested: String? = nil) -> String? {
        guard roomJoin == true else { return nil }
        if let room, !room.isEmpty { return room }
        if let requested, !requested.isEmpty { return requested }
        return nil
    }

    /// The participant permission a server reports in `ParticipantInfo.permission`
    /// (Go `VideoGrant.ToPermission`).
    public var participantPermission: Livekit_ParticipantPermission {
        var permission = Livekit_ParticipantPermission()
        permission.canPublish = allowsPublish
        permission.canSubscribe = allowsSubscribe
        permission.canPublishData = allowsPublishData
        permission.canUpdateMetadata = allowsUpdateOwnMetadata
        permission.hidden = hidden ?? false
        permission.recorder = recorder ?? false
        permission.agent = agent ?? false
        permission.canSubscribeMetrics = canSubscribeMetrics ?? false
        permission.canPublishSources = (canPublishSources ?? []).map(Self.trackSource)
        return permission
    }

    /// Go `sourceToProto`: lower-case names, anything else is UNKNOWN.
    private static func trackSource(_ name: String) -> Livekit_TrackSource {
        switch name.lowercased() {
        case "camera": .camera
        case "microphone": .microphone
        case "screen_share": .screenShare
        case "screen_share_audio": .screenShareAudio
        default: .unknown
        }
    }
}
