import Codecs
import Foundation

/// What a LiveKit access token says: the registered JWT claims LiveKit uses (RFC 7519 §4.1) and
/// LiveKit's own (`auth/grants.go` `ClaimGrants`).
public struct AccessTokenClaims: Equatable, Sendable {
    /// `iss`: the API key whose secret signs the token.
    public var apiKey: String
    /// `sub` (or, in old tokens without `sub`, `jti`): the participant identity.
    public var identity: String
    /// `nbf`, Unix seconds.
    public var notBefore: Int64?
    /// `exp`, Unix seconds. Verification requires it.
    public var expiry: Int64?
    public var name: String?
    public var metadata: String?
    /// `kind`: "standard", "agent", "ingress", "egress", "sip".
    public var kind: String?
    public var attributes: [String: String]?
    public var video: VideoGrant?

    public init(apiKey: String, identity: String, notBefore: Int64? = nil, expiry: Int64? = nil,
                name: String? = nil, metadata: String? = nil, kind: String? = nil,
                attributes: [String: String]? = nil, video: VideoGrant? = nil) {
        self.apiKey = apiKey
        self.identity = identity
        self.notBefore = notBefore
        self.expiry = expiry
        self.name = name
        self.metadata = metadata
        self.kind = kind
        self.attributes = attributes
        self.video = video
    }

    /// Claims valid from `now` for `ttl` (LiveKit's default is six hours), as the SDKs' token
    /// builders set `nbf` and `exp`.
    public init(apiKey: String, identity: String, video: VideoGrant?, ttl: Duration = .seconds(6 * 3600),
                now: Date = Date(), name: String? = nil, metadata: String? = nil) {
        let start = Int64(now.timeIntervalSince1970.rounded(.down))
        self.init(apiKey: apiKey, identity: identity, notBefore: start, expiry: start + ttl.components.seconds,
                  name: name, metadata: metadata, video: video)
    }
}

/// HS256 JSON Web Tokens exactly as LiveKit issues and checks them (livekit/protocol `auth/`,
/// livekit-api `access_token.py`): header `{"alg":"HS256","typ":"JWT"}`, HMAC-SHA256 with the
/// API secret over `base64url(header).base64url(payload)` (RFC 7515 §5.1), no padding.
public enum AccessToken {
    /// Default clock skew allowed on `exp` and `nbf`, as LiveKit's verifiers (go-jose, PyJWT).
    public static let defaultLeeway: Duration = .seconds(60)

    /// Signs `claims` with `secret`; the token's issuer is `claims.apiKey`.
    public static func sign(_ claims: AccessTokenClaims, secret: String) throws(LiveKitProtocolError) -> String {
        guard !claims.apiKey.isEmpty, !secret.isEmpty else { throw .missingCredentials }
        let header = Base64.encodeURL(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings, integers and booleans cannot fail.
        let json = (try? encoder.encode(WireClaims(claims))) ?? Data("{}".utf8)
        let signingInput = header + "." + Base64.encodeURL(json)
        let signature = HMACSHA256.mac(key: Array(secret.utf8), message: Array(signingInput.utf8))
        return signingInput + "." + Base64.encodeURL(signature)
    }

    /// Checks `token` as a LiveKit server does and returns its claims.
    ///
    /// Order: shape, algorithm, issuer known in `keys` (API key → secret), signature, then times:
    /// `exp` required, expired when `now - leeway > exp`, not yet valid when `now + leeway < nbf`
    /// (go-jose `Claims.ValidateWithLeeway`, which livekit-server uses).
    public static func verify(_ token: String, keys: [String: String], now: Date = Date(),
                              leeway: Duration = defaultLeeway) throws(LiveKitProtocolError) -> AccessTokenClaims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw .malformedToken(part: "token", reason: "expected 3 dot-separated parts, found \(parts.count)")
        }
        let header: WireHeader = try decodeJSON(parts[0], part: "header")
        guard header.alg == "HS256" else { throw .unsupportedAlgorithm(header.alg) }
        let wire: WireClaims = try decodeJSON(parts[1], part: "payload")
        guard let signature = Base64.decodeURL(parts[2]) else {
            throw .malformedToken(part: "signature", reason: "not base64url")
        }
        let apiKey = wire.iss ?? ""
        let signingInput = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard let secret = keys[apiKey], !secret.isEmpty else {
            // The same work as for a known key, so the time taken does not tell which keys exist.
            _ = HMACSHA256.equal(HMACSHA256.mac(key: Array("unknown-key".utf8), message: signingInput), signature)
            throw .unknownKey(apiKey)
        }
        let expected = HMACSHA256.mac(key: Array(secret.utf8), message: signingInput)
        guard HMACSHA256.equal(expected, signature) else { throw .badSignature }

        let claims = wire.claims()
        let nowSeconds = Int64(now.timeIntervalSince1970.rounded(.down))
        let slack = leeway.components.seconds
        guard let expiry = claims.expiry else { throw .missingExpiry }
        if nowSeconds - slack > expiry { throw .expired(expiry: expiry, now: nowSeconds) }
        if let notBefore = claims.notBefore, nowSeconds + slack < notBefore {
            throw .notYetValid(notBefore: notBefore, now: nowSeconds)
        }
        return claims
    }

    /// The claims of `token` without checking its signature or times: for a client deciding
    /// what a token it was given allows (a server must use `verify`).
    public static func unverifiedClaims(_ token: String) throws(LiveKitProtocolError) -> AccessTokenClaims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw .malformedToken(part: "token", reason: "expected 3 dot-separated parts, found \(parts.count)")
        }
        let wire: WireClaims = try decodeJSON(parts[1], part: "payload")
        return wire.claims()
    }

    private static func decodeJSON<T: Decodable>(_ text: Substring, part: String) throws(LiveKitProtocolError) -> T {
        guard let bytes = Base64.decodeURL(text) else { throw .malformedToken(part: part, reason: "not base64url") }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw .malformedToken(part: part, reason: "not the expected JSON object: \(error)")
        }
    }
}

/// The JOSE header (RFC 7515 §4.1); only `alg` matters to us.
private struct WireHeader: Decodable {
    var alg: String
}

/// The payload as JSON. Times are decoded as numbers of any form (RFC 7519 §2 NumericDate may
/// have a fraction) and kept as whole seconds.
private struct WireClaims: Codable {
    var iss: String?
    var sub: String?
    var jti: String?
    var nbf: NumericDate?
    var exp: NumericDate?
    var name: String?
    var metadata: String?
    var kind: String?
    var attributes: [String: String]?
    var video: VideoGrant?

    init(_ claims: AccessTokenClaims) {
        iss = claims.apiKey
        sub = claims.identity
        nbf = claims.notBefore.map(NumericDate.init)
        exp = claims.expiry.map(NumericDate.init)
        // LiveKit's builders leave empty strings out (livekit-api `Claims.asdict`).
        name = claims.name.flatMap { $0.isEmpty ? nil : $0 }
        metadata = claims.metadata.flatMap { $0.isEmpty ? nil : $0 }
        kind = claims.kind.flatMap { $0.isEmpty ? nil : $0 }
        attributes = claims.attributes
        video = claims.video
    }

    func claims() -> AccessTokenClaims {
        // livekit/protocol `auth/verifier.go`: identity is `sub`, or `jti` in tokens that lack it.
        let identity = (sub?.isEmpty == false ? sub : jti) ?? ""
        return AccessTokenClaims(apiKey: iss ?? "", identity: identity, notBefore: nbf?.seconds,
                                 expiry: exp?.seconds, name: name, metadata: metadata, kind: kind,
                                 attributes: attributes, video: video)
    }
}

/// RFC 7519 §2 NumericDate: seconds since the epoch, integer or not.
private struct NumericDate: Codable {
    var seconds: Int64

    init(_ seconds: Int64) { self.seconds = seconds }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let whole = try? container.decode(Int64.self) {
            seconds = whole
            return
        }
        let value = try container.decode(Double.self)
        guard value.isFinite, abs(value) < 1e15 else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "NumericDate out of range")
        }
        seconds = Int64(value.rounded(.down))
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(seconds)
    }
}
