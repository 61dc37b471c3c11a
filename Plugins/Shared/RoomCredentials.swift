import Foundation
import LiveKitProtocol
import Pipeline
import TrackModel
import RoomClient

/// How a room stage proves who it is to the server: a ready access token (given, or read from
/// an environment variable), or an API key and secret from which it signs its own tokens
/// (LiveKit's HS256 JWT, `LiveKitProtocol.AccessToken`). The defaults are `trackbag serve`'s and
/// `livekit-server --dev`'s `devkey`/`secret`.
public enum RoomCredentials: Sendable, Hashable {
    case token(String)
    case keys(apiKey: String, apiSecret: String)

    public static let development = RoomCredentials.keys(apiKey: "devkey", apiSecret: "secret")

    /// Picks the credentials from a stage's options: `token`, else `token_env`, else
    /// `api_key`/`api_secret` (each defaulting to devkey/secret). Giving a token and a key at
    /// once is a mistake, reported rather than resolved silently.
    static func resolve(token: String?, tokenEnv: String?, apiKey: String?, apiSecret: String?,
                        environment: [String: String], stage: String, file: String?) throws -> RoomCredentials {
        func problem(_ message: String) -> PipelineError { PipelineError(message: message, file: file, stage: stage) }
        if (token != nil || tokenEnv != nil) && (apiKey != nil || apiSecret != nil) {
            throw problem("give either token/token_env or api_key/api_secret, not both")
        }
        if token != nil && tokenEnv != nil { throw problem("give either token or token_env, not both") }
        if let token {
            guard !token.isEmpty else { throw problem("token is empty") }
            return .token(token)
        }
        if let tokenEnv {
            let env = environment.isEmpty ? ProcessInfo.processInfo.environment : environment
            guard let value = env[tokenEnv], !value.isEmpty else {
                throw problem("token_env: environment variable \(tokenEnv) is not set or empty")
            }
            return .token(value)
        }
        let key = apiKey ?? "devkey", secret = apiSecret ?? "secret"
        guard !key.isEmpty, !secret.isEmpty else { throw problem("api_key and api_secret must not be empty") }
        return .keys(apiKey: key, apiSecret: secret)
    }

    /// The token to join `room` as `identity`. A given token is used as is (its identity and room
    /// are the token's business); keys sign a fresh one with only the grants the stage needs.
    /// `hidden` asks for the `hidden` grant (LiveKit then keeps the participant out of everyone
    /// else's participant list): added to a token we sign; a given token must already carry it.
    /// `updateOwnMetadata`: the `canUpdateOwnMetadata` grant (participant attributes, as
    /// `trackbag play` publishes its position).
    /// `publishData`: `canPublishData` without `canPublish` (a recorder that answers RPC).
    func token(identity: String, room: String, publish: Bool, subscribe: Bool, hidden: Bool = false,
               updateOwnMetadata: Bool = false, publishData: Bool = false) throws -> String {
        switch self {
        case .token(let token):
            if hidden {
                let claims: AccessTokenClaims
                do {
                    claims = try AccessToken.unverifiedClaims(token)
                } catch {
                    throw PipelineError(message: "hidden: cannot read the given token: \(error)")
                }
                guard claims.video?.hidden == true else {
                    throw PipelineError(message: "hidden: the given token does not grant hidden (video.hidden); "
                                        + "have it issued with that grant, or give api_key/api_secret so we sign one")
                }
            }
            return token
        case .keys(let apiKey, let apiSecret):
            var grant = VideoGrant(roomJoin: true, room: room, canPublish: publish, canSubscribe: subscribe,
                                   canPublishData: publish, hidden: hidden ? true : nil)
            if !publish { grant.canPublishData = false }
            if updateOwnMetadata { grant.canUpdateOwnMetadata = true }
            if publishData { grant.canPublishData = true }
            let claims = AccessTokenClaims(apiKey: apiKey, identity: identity, video: grant)
            do {
                return try AccessToken.sign(claims, secret: apiSecret)
            } catch {
                throw PipelineError(message: "could not sign a token for \(identity): \(error)")
            }
        }
    }

    /// Whether every participant must share the token's one identity.
    var isFixedToken: Bool {
        if case .token = self { return true }
        return false
    }
}

