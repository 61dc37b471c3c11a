import Foundation
import Hummingbird
import HummingbirdWebSocket
import LiveKitProtocol
import Logging
import NIOCore
import ServiceLifecycle
import WebRTCData

/// The embedded LiveKit-compatible server (`trackbag serve`): signaling over WebSocket
/// at `/rtc/v1` and `/rtc`, token checks at `/rtc/validate` and `/rtc/v1/validate`, rooms with
/// data tracks forwarded over data-channel-only WebRTC.
///
/// A refused WebSocket upgrade falls through to the plain HTTP routes, which answer 401 (token)
/// or 400 (join request) with the reason in the body, as livekit-server does; the SDK then calls
/// `…/validate` and shows that reason.
public struct RoomServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// The UDP port every peer connection shares, on each address (0 = one free port).
        public var rtcPort: Int
        /// API key → secret.
        public var keys: [String: String]
        /// Addresses to advertise and bind for WebRTC; empty = every up non-loopback IPv4
        /// interface address plus 127.0.0.1.
        public var nodeIPs: [String]
        /// Appends every received data-track packet to this file (`DataTrackCapture`).
        public var dataTrackCapture: String?
        /// What the WebRTC candidates name instead of the bound addresses, `IP` (the bound port)
        /// or `IP:PORT` (`[IPv6]:PORT`), one per entry of `nodeIPs` in order: the server sits
        /// behind a 1:1 NAT, a port forward or a relay (livekit-server's `rtc.node_ip`).
        public var advertisedAddresses: [String]

        public init(host: String = "127.0.0.1", port: Int = 7880, rtcPort: Int = 7882,
                    keys: [String: String] = ["devkey": "secret"], nodeIPs: [String] = [], dataTrackCapture: String? = nil,
                    advertisedAddresses: [String] = []) {
            self.host = host
            self.port = port
            self.rtcPort = rtcPort
            self.keys = keys
            self.nodeIPs = nodeIPs
            self.dataTrackCapture = dataTrackCapture
            self.advertisedAddresses = advertisedAddresses
        }

        /// `IP`, `IP:PORT` or `[IPv6]:PORT` → the IP and the port if one was given.
        static func parseAdvertised(_ text: String) throws(RoomServerError) -> (ip: IPAddress, port: UInt16?) {
            if let ip = IPAddress(text) { return (ip, nil) }
            guard let colon = text.lastIndex(of: ":") else {
                throw .badConfiguration("advertise address \(text) is not IP or IP:PORT")
            }
            var host = String(text[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard let ip = IPAddress(host), let port = UInt16(text[text.index(after: colon)...]), port > 0 else {
                throw .badConfiguration("advertise address \(text) is not IP or IP:PORT")
            }
            return (ip, port)
        }
    }

    /// The version announced in join responses (the SDK only needs one to be there).
    public static let version = "1.9.0-trackbag"

    public let configuration: Configuration
    /// The WebRTC addresses in use, each `IP:port` (the one shared UDP port).
    public let rtcAddresses: [String]
    /// What the candidates name, in the same order (equal to `rtcAddresses` unless advertised).
    public let advertisedRTCAddresses: [String]
    private let directory: RoomDirectory
    private let factory: PeerConnectionFactory

    public init(_ configuration: Configuration) throws(RoomServerError) {
        guard !configuration.keys.isEmpty else { throw .badConfiguration("no API keys") }
        guard (0...65535).contains(configuration.port) else { throw .badConfiguration("port \(configuration.port)") }
        guard (0...65535).contains(configuration.rtcPort) else { throw .badConfiguration("rtc port \(configuration.rtcPort)") }
        var addresses: [IPAddress] = []
        for text in configuration.nodeIPs {
            guard let address = IPAddress(text) else { throw .badConfiguration("node IP \(text) is not an IP address") }
            addresses.append(address)
        }
        if addresses.isEmpty { addresses = PeerConnectionFactory.defaultAddresses() }
        guard !addresses.isEmpty else { throw .badConfiguration("no address for WebRTC") }
        var advertise: [(ip: IPAddress, port: UInt16?)] = []
        for text in configuration.advertisedAddresses { advertise.append(try Configuration.parseAdvertised(text)) }
        // Each advertised address stands for one bound address; guessing which is which for
        // the default interface list would advertise the wrong one on some machine.
        guard advertise.isEmpty || (!configuration.nodeIPs.isEmpty && advertise.count == addresses.count) else {
            throw .badConfiguration("\(advertise.count) advertise address(es) for \(configuration.nodeIPs.count) node IP(s): "
                                    + "give one per node IP, in the same order")
        }
        self.configuration = configuration
        do {
            self.factory = try PeerConnectionFactory(addresses: addresses, port: UInt16(configuration.rtcPort), advertise: advertise)
        } catch {
            throw .badConfiguration("cannot bind UDP port \(configuration.rtcPort) on \(addresses.map(\.description).joined(separator: ", ")): \(error)")
        }
        self.rtcAddresses = factory.boundAddresses.map(\.description)
        self.advertisedRTCAddresses = factory.advertisedAddresses.map(\.description)
        let capture = try configuration.dataTrackCapture.map { path throws(RoomServerError) in try DataTrackCapture(path: path) }
        self.directory = RoomDirectory(server: ServerIdentity.make(), capture: capture)
    }

    /// Serves until SIGINT or SIGTERM, then ends every session and stops. `onListening` gets the
    /// WebSocket URL once the port is bound (useful with port 0).
    public func run(onListening: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let logger = Logger(label: "trackbag.serve")
        let http = Router(context: SignalRequestContext.self)
        addHTTPRoutes(to: http)
        let webSocket = Router(context: SignalRequestContext.self)
        addWebSocketRoutes(to: webSocket)
        let host = configuration.host
        let app = Application(
            router: http,
            server: .http1WebSocketUpgrade(webSocketRouter: webSocket,
                                           configuration: .init(ws: .init(maxFrameSize: 1 << 20, autoPing: .disabled))),
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: "trackbag"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                onListening("ws://\(host):\(port)")
            },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [app, SessionCloser(directory: directory)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        factory.close()
    }

    /// Rooms, participants and their data-track counters now (`trackbag serve --metrics-addr`).
    public func statistics() async -> ServerStatistics {
        await directory.statistics()
    }

    // MARK: - Routes

    private static func query(of request: Request) -> [String: String] {
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters where query[String(key)] == nil {
            query[String(key)] = String(value)
        }
        return query
    }

    private func joinParameters(_ request: Request, path: JoinParameters.Path) throws(RoomServerError) -> JoinParameters {
        try JoinParameters.parse(path: path, query: Self.query(of: request),
                                 authorization: request.headers[.authorization], keys: configuration.keys)
    }

    private static func refusal(_ error: RoomServerError) -> Response {
        Response(status: HTTPResponse.Status(code: error.httpStatus),
                 headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: error.description + "\n")))
    }

    private func addHTTPRoutes(to router: Router<SignalRequestContext>) {
        for path in [JoinParameters.Path.singlePeerConnection, .dualPeerConnection] {
            // `…/validate`: the SDK's way to learn why a join failed (200 "success" when fine).
            router.get(RouterPath(path.rawValue + "/validate")) { request, _ -> Response in
                do {
                    _ = try self.joinParameters(request, path: path)
                    return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "success")))
                } catch let error as RoomServerError {
                    return Self.refusal(error)
                }
            }
            // A signal path reached without an upgrade: the upgrade was refused, or this is not
            // a WebSocket request at all.
            router.get(RouterPath(path.rawValue)) { request, _ -> Response in
                do {
                    _ = try self.joinParameters(request, path: path)
                    return Response(status: .badRequest,
                                    body: .init(byteBuffer: ByteBuffer(string: "expected a WebSocket upgrade\n")))
                } catch let error as RoomServerError {
                    return Self.refusal(error)
                }
            }
        }
    }

    private func addWebSocketRoutes(to router: Router<SignalRequestContext>) {
        for path in [JoinParameters.Path.singlePeerConnection, .dualPeerConnection] {
            router.ws(RouterPath(path.rawValue), shouldUpgrade: { request, _ in
                (try? self.joinParameters(request, path: path)) == nil ? .dontUpgrade : .upgrade([:])
            }, onUpgrade: { inbound, outbound, context in
                guard let parameters = try? self.joinParameters(context.request, path: path) else { return }
                await self.serve(parameters, inbound: inbound, outbound: outbound, channel: context.requestContext.channel)
            })
        }
    }

    // MARK: - One signal connection

    private func serve(_ parameters: JoinParameters, inbound: WebSocketInboundStream,
                       outbound: WebSocketOutboundWriter, channel: any Channel) async {
        let logger = Logger(label: "serve")
        if parameters.reconnect {
            await refuseResume(parameters, outbound: outbound, logger: logger)
            return
        }
        let session = await directory.join(parameters, factory: factory, logger: logger)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while let bytes = await session.outbox.next() {
                    do {
                        try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                    } catch {
                        break
                    }
                }
                try? await outbound.close(.normalClosure, reason: nil)
            }
            // A participant that does not read its responses loses its signal connection once
            // its outbox is full, as livekit-server closes a signal connection whose response
            // channel is full; what follows is a signal loss like any other (SignalLossWindow).
            // The writer may be blocked on the unread socket, so the connection is closed under it.
            group.addTask {
                for await overflow in session.outbox.overflowed {
                    logger.warning("\(session.identity) (\(session.sid)): \(overflow): signal connection closed")
                    try? await channel.close()
                }
            }
            group.addTask {
                await session.start()
            }
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .binary(let buffer) = message,
                              let request = try? Livekit_SignalRequest(serializedBytes: Array(buffer.readableBytesView)) else {
                            continue
                        }
                        await session.handle(request)
                        // The next request only once its answers are on their way (SignalOutbox).
                        guard await session.outbox.waitForRoom() else { break }
                    }
                } catch {
                    // The connection broke: same as a close.
                }
                // Without a `leave` the participant may be kept for a while (SignalLossWindow);
                // after a leave or a replacement the session has already ended.
                await session.signalClosed()
            }
        }
        // A kept participant ends later (re-join, window over, shutdown); only then can its room
        // have emptied.
        for await _ in session.ending {}
        if let room = await directory.room(named: parameters.room) {
            await directory.forgetIfClosed(room)
        }
    }

    /// A resume attempt. livekit-server re-attaches the new signal connection to the kept
    /// participant, sends a `ReconnectResponse` and restarts ICE (`pkg/service/roommanager.go`
    /// `StartSession`, `pkg/rtc/room.go` `ResumeParticipant`); our peer connections cannot
    /// restart ICE, so we answer as LiveKit does when it cannot resume (a closed or unknown
    /// participant): `Leave{reason: STATE_MISMATCH, action: RECONNECT}` for protocol 13 and
    /// later, `{can_reconnect: true, reason: STATE_MISMATCH}` before. The client then re-joins
    /// with the same identity, which replaces the kept participant (DUPLICATE_IDENTITY).
    private func refuseResume(_ parameters: JoinParameters, outbound: WebSocketOutboundWriter,
                              logger: Logger) async {
        var kept = false
        if !parameters.resumeSID.isEmpty, let room = await directory.room(named: parameters.room),
           let session = await room.session(of: parameters.resumeSID), session.identity == parameters.claims.identity {
            kept = await session.isKeptAfterSignalLoss
        }
        let attempt: String = "\(parameters.claims.identity): resume attempt on \(parameters.path.rawValue) for "
            + "\(parameters.resumeSID.isEmpty ? "no sid" : parameters.resumeSID) (reason \(parameters.reconnectReason), "
            + "\(kept ? "kept after its signal loss" : "not kept")): answered Leave{RECONNECT}, expecting a re-join"
        logger.info("\(attempt)")
        var leave = Livekit_LeaveRequest()
        leave.reason = .stateMismatch
        // `action` for every client (one that misreports its protocol as 0 still reads it);
        // `can_reconnect` only where LiveKit sends it, for protocol 12 and older.
        leave.action = .reconnect
        leave.canReconnect = parameters.clientInfo.protocol <= 12
        var response = Livekit_SignalResponse()
        response.message = .leave(leave)
        if let bytes: [UInt8] = try? response.serializedBytes() {
            try? await outbound.write(.binary(ByteBuffer(bytes: bytes)))
        }
        try? await outbound.close(.normalClosure, reason: "reconnect")
    }
}

/// Hummingbird's basic WebSocket request context plus the connection's channel, so the server
/// can drop a signal connection whose client stopped reading (a close frame would wait behind
/// the unread data).
struct SignalRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<SignalRequestContext>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}

/// Ends every session when the service group shuts down, so open WebSockets close and the HTTP
/// server can finish.
private struct SessionCloser: Service {
    let directory: RoomDirectory

    func run() async throws {
        try? await gracefulShutdown()
        await directory.closeAll()
    }
}
