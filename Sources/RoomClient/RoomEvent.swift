import Synchronization

/// What happens in a room, in order (`Room.events()`).
public enum RoomEvent: Sendable {
    case connected
    case participantConnected(RemoteParticipant)
    case participantDisconnected(RemoteParticipant)
    case dataTrackPublished(RemoteDataTrack)
    case dataTrackUnpublished(RemoteDataTrack)
    /// Someone subscribed to one of our data tracks. Only trackbag's server says so (its
    /// `TrackSubscribed` for a data track, docs/WIRE.md); livekit-server tells a data track's
    /// publisher nothing about its subscribers.
    case localDataTrackSubscribed(LocalDataTrack)
    /// The signal or peer connection was lost; the room is re-joining.
    case reconnecting(reason: String)
    /// Re-joined, tracks re-published and subscriptions renewed.
    case reconnected
    /// Gone for good (`disconnect()`, the server's `leave`, or reconnecting gave up).
    case disconnected(reason: String)
}

/// Fans room events out to every `events()` stream and handler. Streams made before `connect`
/// see everything from the start.
final class EventHub: Sendable {
    private let sinks = Mutex<(next: Int, sinks: [Int: AsyncStream<RoomEvent>.Continuation], finished: Bool)>((0, [:], false))

    func stream() -> AsyncStream<RoomEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: RoomEvent.self)
        let id: Int? = sinks.withLock { state in
            guard !state.finished else { return nil }
            let id = state.next
            state.next += 1
            state.sinks[id] = continuation
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.sinks.withLock { $0.sinks.removeValue(forKey: id) }
        }
        return stream
    }

    func emit(_ event: RoomEvent) {
        let targets = sinks.withLock { Array($0.sinks.values) }
        for sink in targets { sink.yield(event) }
    }

    func finish() {
        let targets = sinks.withLock { state -> [AsyncStream<RoomEvent>.Continuation] in
            state.finished = true
            defer { state.sinks = [:] }
            return Array(state.sinks.values)
        }
        for sink in targets { sink.finish() }
    }
}
