// Signal requests through the embedded server's own handlers: a room and two participants'
// sessions, driven as the server's signal loop drives them (`RoomServer.serve`), without the
// WebSocket. Join, offer/answer, trickle, data-track publish/unpublish, subscriptions,
// metadata, ping, leave, a signal connection that closes, a re-join of the same identity, and
// DataPackets and data-track packets from the channels in between.
import Dispatch
import Foundation
import FuzzDriver
import LiveKitProtocol
import Logging
@testable import RoomServer
import WebRTCData

let serverTargets: [FuzzTarget] = [
    FuzzTarget(name: "signal-server", summary: "signal request sequences through the server's room and sessions") { bytes in
        let network = FuzzNetwork.shared
        let done = DispatchSemaphore(value: 0)
        Task {
            await SignalServerFuzz.run(bytes, network: network)
            done.signal()
        }
        done.wait()
    },
]

/// Where the server's peer connections live. A subscriber connection is a full ICE agent that
/// sends connectivity checks to any candidate a client trickles, so the process first moves into
/// a network namespace of its own (root only) with nothing but loopback: whatever the input
/// names, no packet leaves it. Without one, only the single peer connection path runs, whose
/// ICE-lite agent never sends a check (RFC 8445 §2.5).
final class FuzzNetwork: Sendable {
    let factory: PeerConnectionFactory
    let isolated: Bool

    private init(factory: PeerConnectionFactory, isolated: Bool) {
        self.factory = factory
        self.isolated = isolated
    }

    /// Made on the thread libFuzzer calls us on, before any task runs: the namespace is the
    /// calling thread's, and the shared UDP socket made here stays in it whichever thread uses it.
    static let shared: FuzzNetwork = {
        let isolated = trackbag_fuzz_isolate_network() == 0
        guard let loopback = IPAddress("127.0.0.1"),
              let factory = try? PeerConnectionFactory(addresses: [loopback], port: 0) else {
            finding("cannot bind the server's UDP socket on 127.0.0.1")
        }
        return FuzzNetwork(factory: factory, isolated: isolated)
    }()
}

/// The input: two bytes choosing each participant's grants and path, then pieces (`Pieces`),
/// each a selector byte and its body. Selector bit 0 picks the participant; bits 1-3 the step:
///
/// | step | what happens |
/// |---|---|
/// | 0 | the body is a `SignalRequest` the server handles; then the client reads all it was sent |
/// | 1 | the same, and the client reads nothing |
/// | 2 | the signal connection closes without `leave` |
/// | 3 | the same identity joins again (the old session is replaced, DUPLICATE_IDENTITY) |
/// | 4, 5 | the body is a DataPacket arriving on `_reliable` / `_lossy` |
/// | 6 | the body is a data-track packet arriving on `_data_track` |
/// | 7 | the client reads all it was sent |
///
/// Participant flags: bit 0 `/rtc` (two peer connections), bit 1 no `canPublishData`, bit 2 no
/// `canSubscribe`, bit 3 `hidden`, bit 4 `canUpdateOwnMetadata`, bit 5 kind `agent`, bit 6 (the
/// second participant) the first one's identity.
///
/// Properties besides no crash, hang or leak: everything the server sends decodes as a
/// `SignalResponse` and a session's first response is its `join`; a hidden participant is shown
/// to nobody else, and one without `canUpdateOwnMetadata` keeps its metadata (`Rules`); each member's signal outbox
/// and packet queues stay within their limits; no participant holds more data tracks than
/// `DataTrackPublishCheck` allows; every peer connection is closed once the room is.
enum SignalServerFuzz {
    static let server = ServerIdentity.make(version: "fuzz")
    static let logger: Logger = {
        var logger = Logger(label: "serve")
        logger.logLevel = .critical
        return logger
    }()

    /// One client as the server's signal loop sees it.
    final class Client {
        let parameters: JoinParameters
        var session: ParticipantSession
        /// The server still reads this client's requests (the loop has not ended).
        var reading = true
        /// This session's first response was read (it must be the join).
        var sawFirst = false

        init(parameters: JoinParameters, session: ParticipantSession) {
            self.parameters = parameters
            self.session = session
        }
    }

    static func parameters(identity: String, flags: UInt8, dualAllowed: Bool) -> JoinParameters {
        var grant = VideoGrant(roomJoin: true, room: "fuzz")
        if flags & 0x02 != 0 { grant.canPublishData = false }
        if flags & 0x04 != 0 { grant.canSubscribe = false }
        if flags & 0x08 != 0 { grant.hidden = true }
        if flags & 0x10 != 0 { grant.canUpdateOwnMetadata = true }
        if flags & 0x20 != 0 { grant.agent = true }
        let claims = AccessTokenClaims(apiKey: "devkey", identity: identity, expiry: 4_102_444_800,
                                       kind: flags & 0x20 != 0 ? "agent" : nil, video: grant)
        var clientInfo = Livekit_ClientInfo()
        clientInfo.protocol = 16
        return JoinParameters(claims: claims, grant: grant, room: "fuzz",
                              path: dualAllowed && flags & 0x01 != 0 ? .dualPeerConnection : .singlePeerConnection,
                              publisherOffer: nil, clientInfo: clientInfo, autoSubscribe: true, reconnect: false,
                              metadata: "", attributes: [:])
    }

    static func run(_ bytes: [UInt8], network: FuzzNetwork) async {
        guard bytes.count >= 2 else { return }
        let room = ServerRoom(name: "fuzz", server: server)
        var sessions: [ParticipantSession] = []
        var clients: [Client] = []
        var trackSIDs: [String] = []
        var rules = Rules()

        func admit(_ parameters: JoinParameters) async -> ParticipantSession? {
            let session = ParticipantSession(parameters: parameters, room: room, factory: network.factory, logger: logger)
            guard await room.join(session, subscriberPrimary: session.subscriberPrimary) else { return nil }
            sessions.append(session)
            if parameters.grant.hidden == true { rules.hidden.insert(session.sid) }
            if !parameters.grant.allowsUpdateOwnMetadata { rules.fixedMetadata.insert(session.sid) }
            await session.start()
            return session
        }

        for index in 0..<2 {
            let flags = bytes[index]
            let identity = index == 1 && flags & 0x40 != 0 ? "robot" : ["robot", "viewer"][index]
            let parameters = parameters(identity: identity, flags: flags, dualAllowed: network.isolated)
            guard let session = await admit(parameters) else { finding("an open room refused a join") }
            clients.append(Client(parameters: parameters, session: session))
        }

        var pieces = Pieces(bytes, from: 2)
        while let piece = pieces.next() {
            guard let selector = piece.first else { continue }
            let client = clients[Int(selector & 1)]
            let body = Array(piece.dropFirst())
            switch (selector >> 1) & 7 {
            case 0, 1:
                // As `RoomServer.serve`: undecodable messages are skipped, each request is
                // handled, and the next is read only once its answers are on their way.
                guard client.reading, var request = try? Livekit_SignalRequest(serializedBytes: body) else { break }
                resolveTrackSIDs(in: &request, known: trackSIDs)
                await client.session.handle(request)
                if selector & 0x02 == 0 { await read(client, into: &trackSIDs, rules: rules) }
                // This client reads only when the input says so: where the server would wait
                // for it, it has waited the whole stall limit.
                let stalled: @Sendable () -> ContinuousClock.Instant = { .now + .seconds(3600) }
                if !(await client.session.outbox.waitForRoom(now: stalled)) {
                    client.reading = false
                    await client.session.signalClosed()
                }
            case 2:
                guard client.reading else { break }
                client.reading = false
                await client.session.signalClosed()
            case 3:
                guard sessions.count < 8 else { break }
                guard let session = await admit(client.parameters) else { break }
                client.session = session
                client.reading = true
                client.sawFirst = false
            case 4, 5:
                await room.forwardDataPacket(body, lane: selector & 0x02 == 0 ? .reliable : .lossy, from: client.session.sid)
            case 6:
                await room.forwardDataTrackPacket(body, from: client.session.sid)
            default:
                await read(client, into: &trackSIDs, rules: rules)
            }
            await checkBounds(room, sessions)
        }

        for client in clients { await read(client, into: &trackSIDs, rules: rules) }
        await room.closeAll()
        for session in sessions {
            var waited = 0
            while true {
                let transports = await session.transportStatistics()
                if transports.publisher == nil && transports.subscriber == nil { break }
                waited += 1
                if waited > 5000 { finding("a session's peer connections were not closed 5 s after the room closed") }
                try? await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    /// The SDK names tracks by the sids the server gave them, which differ in every run: a
    /// subscription to a `DTR_` sid this server never gave refers to one it did, chosen by the
    /// name's bytes, so subscriptions reach real tracks. Other names are left as they are.
    static func resolveTrackSIDs(in request: inout Livekit_SignalRequest, known: [String]) {
        guard case .updateDataSubscription(var update) = request.message, !known.isEmpty else { return }
        for index in update.updates.indices {
            let sid = update.updates[index].trackSid
            guard sid.hasPrefix("DTR_"), !known.contains(sid) else { continue }
            let pick = sid.utf8.reduce(0) { ($0 &+ Int($1)) & 0xFFFF } % known.count
            update.updates[index].trackSid = known[pick]
        }
        request.message = .updateDataSubscription(update)
    }

    /// Reads every response queued for `client` as its WebSocket writer would, without waiting.
    static func read(_ client: Client, into trackSIDs: inout [String], rules: Rules) async {
        let outbox = client.session.outbox
        // Nothing else sends to this outbox now (every request was awaited), so `next` returns at
        // once for each queued response.
        var queued = outbox.counters.messages
        while queued > 0 {
            queued -= 1
            guard let bytes = await outbox.next() else { return }
            guard let response = try? Livekit_SignalResponse(serializedBytes: bytes) else {
                finding("the server sent a response that does not decode: \(bytes.count) bytes")
            }
            if !client.sawFirst {
                client.sawFirst = true
                guard case .join = response.message else {
                    finding("a session's first response is not its join: \(String(describing: response.message))")
                }
            }
            rules.check(response, readBy: client.session.sid)
            switch response.message {
            case .publishDataTrackResponse(let published):
                if !trackSIDs.contains(published.info.sid) { trackSIDs.append(published.info.sid) }
            case .update(let update):
                for participant in update.participants {
                    for track in participant.dataTracks where !trackSIDs.contains(track.sid) { trackSIDs.append(track.sid) }
                }
            default:
                break
            }
            if trackSIDs.count > 64 { trackSIDs.removeFirst(trackSIDs.count - 64) }
        }
    }

    /// What others may learn about a participant, from its grants (docs/serve.md): a hidden
    /// one is in no other member's join response or participant update (livekit-server
    /// `GetOtherParticipantInfo`, `broadcastParticipantState`); one without
    /// `canUpdateOwnMetadata` keeps the name, metadata and attributes it joined with (none here).
    struct Rules {
        var hidden: Set<String> = []
        var fixedMetadata: Set<String> = []

        func check(_ response: Livekit_SignalResponse, readBy reader: String) {
            var infos: [Livekit_ParticipantInfo] = []
            switch response.message {
            case .join(let join):
                infos = [join.participant] + join.otherParticipants
                if let shown = join.otherParticipants.first(where: { hidden.contains($0.sid) }) {
                    finding("a join response lists hidden participant \(shown.identity)")
                }
            case .update(let update):
                infos = update.participants
                if let shown = update.participants.first(where: { $0.sid != reader && hidden.contains($0.sid) }) {
                    finding("a participant update tells another member about hidden participant \(shown.identity)")
                }
            default:
                return
            }
            for info in infos where fixedMetadata.contains(info.sid) {
                if !info.name.isEmpty || !info.metadata.isEmpty || !info.attributes.isEmpty {
                    finding("\(info.identity) changed its name, metadata or attributes without canUpdateOwnMetadata")
                }
            }
        }
    }

    static func checkBounds(_ room: ServerRoom, _ sessions: [ParticipantSession]) async {
        for session in sessions {
            let outbox = session.outbox
            let queued = outbox.counters
            // Keyed responses: one participant update per participant sid, one handle snapshot.
            if queued.messages > outbox.limits.messages + sessions.count + 1 {
                finding("a signal outbox holds \(queued.messages) responses (limit \(outbox.limits.messages) + keyed)")
            }
            // The closing `leave` may go past the byte limit.
            if queued.bytes > outbox.limits.bytes + 1024 {
                finding("a signal outbox holds \(queued.bytes) B (limit \(outbox.limits.bytes))")
            }
            for queue in [session.dataTrackQueue] + Array(session.dataPacketQueues.values)
            where queue.count > queue.maximumBytes / SubscriberQueue.entryOverhead {
                finding("a subscriber queue holds \(queue.count) packets (limit \(queue.maximumBytes) B)")
            }
        }
        let tracks = await room.statistics().tracks
        if tracks > sessions.count * DataTrackPublishCheck.maximumTracksPerParticipant {
            finding("\(tracks) data tracks published by \(sessions.count) sessions")
        }
    }
}
