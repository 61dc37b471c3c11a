import LiveKitProtocol

/// The room client's one error type: what failed and where (docs/ARCHITECTURE.md).
public enum RoomClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The URL is not a ws:// or wss:// URL with a host.
    case invalidURL(String)
    /// The server refused the WebSocket upgrade; `status` is the HTTP status when it is known.
    case signalRefused(path: String, status: Int?, reason: String)
    /// The signal connection closed or failed.
    case signalClosed(String)
    /// A message from the server could not be decoded or came at the wrong time.
    case protocolViolation(String)
    /// Waited too long for `what`.
    case timeout(String)
    /// The peer connection failed while `stage`.
    case peerConnection(stage: String, reason: String)
    /// The server rejected a request (`RequestResponse`), e.g. DUPLICATE_NAME.
    case requestRejected(reason: String, message: String)
    /// An argument is out of range (handle, name, buffer size).
    case invalidArgument(String)
    /// The room is not connected (never connected, or disconnected for good).
    case notConnected
    /// The server told us to leave.
    case leftRoom(String)
    /// `tryPush` after the track was unpublished or the room disconnected (docs/WIRE.md).
    case unpublished
    /// `tryPush` with the outgoing queue (16 frames) full.
    case dropped
    /// `connect` tried `attempts` times (`RoomOptions.joinRetries`); `last` is how the last
    /// attempt failed.
    indirect case joinFailed(attempts: Int, last: RoomClientError)

    /// Whether another join attempt may fare better: a timeout or a failed connection may be
    /// the link's luck; a refusal, a bad URL or a protocol violation would happen again.
    var mayPassOnAnotherAttempt: Bool {
        switch self {
        case .timeout, .peerConnection, .signalClosed: true
        case .signalRefused(_, let status, _): status.map { $0 >= 500 } ?? true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .invalidURL(let url): "invalid room URL \(url)"
        case .signalRefused(let path, let status, let reason):
            "signal connection to \(path) refused" + (status.map { " (HTTP \($0))" } ?? "") + ": \(reason)"
        case .signalClosed(let why): "signal connection closed: \(why)"
        case .protocolViolation(let what): "protocol violation: \(what)"
        case .timeout(let what): "timed out waiting for \(what)"
        case .peerConnection(let stage, let reason): "peer connection failed at \(stage): \(reason)"
        case .requestRejected(let reason, let message): "request rejected: \(reason)" + (message.isEmpty ? "" : " (\(message))")
        case .invalidArgument(let what): "invalid argument: \(what)"
        case .notConnected: "room not connected"
        case .leftRoom(let reason): "server asked us to leave: \(reason)"
        case .unpublished: "track unpublished"
        case .dropped: "outgoing queue full, frame dropped"
        case .joinFailed(let attempts, let last): "\(last) (\(attempts) attempts)"
        }
    }
}

