import Foundation
import Logging

/// The server's rooms by name: a room is created by its first join and leaves the directory
/// when its last participant leaves (a later join creates a fresh room with a new sid). Rooms
/// never share participants, tracks or packets.
actor RoomDirectory {
    let server: ServerIdentity
    let capture: DataTrackCapture?
    private var rooms: [String: ServerRoom] = [:]

    init(server: ServerIdentity, capture: DataTrackCapture? = nil) {
        self.server = server
        self.capture = capture
    }

    /// Creates the participant's session in its room (creating the room if needed) and admits
    /// it; the join response is the session's first signal message.
    func join(_ parameters: JoinParameters, factory: PeerConnectionFactory,
              logger: Logger) async -> ParticipantSession {
        while true {
            let room = rooms[parameters.room] ?? ServerRoom(name: parameters.room, server: server, capture: capture)
            rooms[parameters.room] = room
            let session = ParticipantSession(parameters: parameters, room: room, factory: factory, logger: logger)
            if await room.join(session, subscriberPrimary: session.subscriberPrimary) { return session }
            // The room closed while we waited: it emptied; drop it and make a new one.
            if rooms[parameters.room] === room { rooms[parameters.room] = nil }
        }
    }

    /// Called after a session ended: forgets its room once the room has closed.
    func forgetIfClosed(_ room: ServerRoom) async {
        let closed = await room.closed
        if closed, rooms[room.name] === room { rooms[room.name] = nil }
    }

    func room(named name: String) -> ServerRoom? { rooms[name] }

    /// Every open room's figures, sorted by name.
    func statistics() async -> ServerStatistics {
        var statistics = ServerStatistics()
        for name in rooms.keys.sorted() {
            guard let room = rooms[name] else { continue }
            statistics.rooms.append(await room.statistics())
        }
        return statistics
    }

    /// Ends every session (server shutdown).
    func closeAll() async {
        let all = Array(rooms.values)
        rooms = [:]
        for room in all { await room.closeAll() }
    }
}
