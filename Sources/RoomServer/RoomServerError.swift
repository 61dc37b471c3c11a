import LiveKitProtocol

/// The one error of RoomServer: what was refused or failed, and where, so the HTTP layer can
/// answer with the right status and a reason the client can show (LiveKit answers a refused
/// join with 401 and a text body, `pkg/service/rtcservice.go`).
public enum RoomServerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No token in `Authorization: Bearer` nor in `access_token`.
    case missingToken
    /// The token failed verification (`exp`, `nbf`, shape…).
    case invalidToken(LiveKitProtocolError)
    /// The token names an API key the server does not have, or its signature does not match
    /// that key's secret. One answer for both, so a client cannot probe which keys exist.
    case unverifiedToken
    /// The token is valid but its grant does not allow joining `room`.
    case notAllowed(room: String, reason: String)
    /// The join query is unusable: `parameter` names what was wrong.
    case badJoinRequest(parameter: String, reason: String)
    /// A UDP socket for a peer connection could not be bound.
    case noUDPPort(address: String, detail: String)
    /// A server configuration value is unusable.
    case badConfiguration(String)

    /// The HTTP status LiveKit uses for this refusal.
    public var httpStatus: Int {
        switch self {
        case .missingToken, .invalidToken, .unverifiedToken, .notAllowed: 401
        case .badJoinRequest: 400
        case .noUDPPort, .badConfiguration: 500
        }
    }

    public var description: String {
        switch self {
        case .missingToken: "no access token (Authorization: Bearer or access_token)"
        case let .invalidToken(error): "invalid access token: \(error)"
        case .unverifiedToken: "invalid access token: not signed by an API key of this server (unknown key or bad signature)"
        case let .notAllowed(room, reason): "not allowed to join room \(room): \(reason)"
        case let .badJoinRequest(parameter, reason): "bad join request (\(parameter)): \(reason)"
        case let .noUDPPort(address, detail): "no UDP port on \(address): \(detail)"
        case let .badConfiguration(detail): "bad configuration: \(detail)"
        }
    }
}
