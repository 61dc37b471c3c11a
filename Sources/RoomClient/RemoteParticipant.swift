/// A remote participant as last reported by the server: a value snapshot.
public struct RemoteParticipant: Sendable {
    public var identity: String
    public var sid: String
    /// Published data tracks by name.
    public var dataTracks: [String: RemoteDataTrack]
}

/// A remote participant's data track. `subscribe` may be called many times; all subscriptions
/// share one signaling subscription.
public struct RemoteDataTrack: Sendable {
    public var publisherIdentity: String
    public var info: DataTrackPublication
    let room: Room

    public var name: String { info.name }
    public var sid: String { info.sid }

    /// A new subscription that sees frames arriving from now on; up to `bufferSize` frames wait
    /// for the consumer, further ones are dropped and counted.
    public func subscribe(bufferSize: Int = 16) async throws(RoomClientError) -> DataTrackSubscription {
        try await room.subscribe(identity: publisherIdentity, handle: info.handle, bufferSize: bufferSize)
    }
}
