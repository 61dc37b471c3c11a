/// Everything that can go wrong reading LiveKit's wire contracts: tokens and join requests.
///
/// Each case says what was wrong and, where it helps, what was expected, so a server can put
/// `description` straight into an HTTP 401/400 body.
public enum LiveKitProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The token is not `header.payload.signature` of base64url JSON; `part` names the piece.
    case malformedToken(part: String, reason: String)
    /// The JWT header names an algorithm other than HS256 (LiveKit signs only with HS256).
    case unsupportedAlgorithm(String)
    /// The token's issuer (`iss`, the API key) is not one of the server's keys.
    case unknownKey(String)
    /// The HMAC-SHA256 signature does not match the payload under the key's secret.
    case badSignature
    /// `exp` is missing: LiveKit's verifiers require it (livekit/protocol#1706).
    case missingExpiry
    /// `now` is past `exp` by more than the leeway. Times are Unix seconds.
    case expired(expiry: Int64, now: Int64)
    /// `now` is before `nbf` by more than the leeway. Times are Unix seconds.
    case notYetValid(notBefore: Int64, now: Int64)
    /// A token cannot be signed with an empty API key or secret.
    case missingCredentials
    /// The `join_request` query value is not a base64url `WrappedJoinRequest` carrying a
    /// `JoinRequest`; `stage` names the step that failed.
    case malformedJoinRequest(stage: String, reason: String)
    /// The WebSocket upgrade request is not one of LiveKit's signal endpoints, or a query
    /// parameter is unreadable; `reason` says which.
    case malformedConnectRequest(reason: String)
    /// A binary signal frame is not a `SignalRequest`/`SignalResponse` (`message` names which).
    case malformedSignalFrame(message: String, reason: String)
    /// A message on `_reliable`/`_lossy` is not a `DataPacket`.
    case malformedDataPacket(reason: String)

    /// The HTTP status a signal endpoint answers with, as livekit-server does: 401 for anything
    /// wrong with the token (the SDKs then stop retrying), 400 for a malformed request.
    public var httpStatus: Int {
        switch self {
        case .malformedToken, .unsupportedAlgorithm, .unknownKey, .badSignature, .missingExpiry,
             .expired, .notYetValid, .missingCredentials:
            401
        case .malformedJoinRequest, .malformedConnectRequest, .malformedSignalFrame, .malformedDataPacket:
            400
        }
    }

    public var description: String {
        switch self {
        case let .malformedToken(part, reason): "malformed token (\(part)): \(reason)"
        case let .unsupportedAlgorithm(alg): "unsupported token algorithm \(alg), expected HS256"
        case let .unknownKey(key): "unknown API key \(key)"
        case .badSignature: "token signature does not match"
        case .missingExpiry: "token has no exp claim"
        case let .expired(expiry, now): "token expired at \(expiry), now \(now)"
        case let .notYetValid(notBefore, now): "token not valid before \(notBefore), now \(now)"
        case .missingCredentials: "API key and secret must not be empty"
        case let .malformedJoinRequest(stage, reason): "malformed join_request (\(stage)): \(reason)"
        case let .malformedConnectRequest(reason): "malformed signal connect request: \(reason)"
        case let .malformedSignalFrame(message, reason): "malformed \(message) frame: \(reason)"
        case let .malformedDataPacket(reason): "malformed DataPacket: \(reason)"
        }
    }
}
