import Codecs
import Foundation

/// What a client asks for when it opens LiveKit's signal WebSocket, read from the HTTP request
/// target and headers (docs/WIRE.md; livekit-server `pkg/service/rtcservice.go`):
///
/// - `/rtc/v1?join_request=…`: single peer connection; everything is in the `JoinRequest`
///   (see `JoinRequestQuery`), the publisher's offer included.
/// - `/rtc?sdk=…&protocol=…&auto_subscribe=1&…`: two peer connections; client info and
///   connection settings are separate query parameters, gathered here into a `JoinRequest` so a
///   server handles both paths alike.
/// - `/rtc/validate`, `/rtc/v1/validate`: the same checks without joining (clients call them
///   after a failed connect to learn why).
///
/// The token comes from `Authorization: Bearer …` (Rust/Python SDKs) or `access_token` (JS SDK).
public struct SignalConnectRequest: Equatable, Sendable {
    public enum Path: String, Sendable {
        /// `/rtc`: two peer connections.
        case rtc = "/rtc"
        /// `/rtc/v1`: one peer connection, `join_request` in the query.
        case rtcV1 = "/rtc/v1"
    }

    public var path: Path
    /// A `/validate` request: check the token and parameters, do not join.
    public var isValidation: Bool
    /// The bearer token, if the client sent one.
    public var token: String?
    /// The room named in the query (`/rtc` only; the token's room wins, as in LiveKit).
    public var room: String?
    public var join: Livekit_JoinRequest

    /// Reads a request target (`/rtc/v1?join_request=…`) and its `Authorization` header value.
    public static func parse(target: String, authorization: String?) throws(LiveKitProtocolError) -> SignalConnectRequest {
        let pathPart: Substring
        let queryPart: Substring
        if let question = target.firstIndex(of: "?") {
            pathPart = target[..<question]
            queryPart = target[target.index(after: question)...]
        } else {
            pathPart = Substring(target)
            queryPart = ""
        }
        var routePath = String(pathPart)
        while routePath.count > 1, routePath.hasSuffix("/") { routePath.removeLast() }
        let isValidation = routePath.hasSuffix("/validate")
        if isValidation { routePath.removeLast("/validate".count) }
        guard let path = Path(rawValue: routePath) else {
            throw .malformedConnectRequest(reason: "unknown path \(pathPart)")
        }
        let query = try parseQuery(queryPart)

        var token = query["access_token"]
        if let authorization {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                token = parts[1].trimmingCharacters(in: .whitespaces)
            }
        }

        var join = Livekit_JoinRequest()
        if let wrapped = query["join_request"] {
            join = try JoinRequestQuery.decode(wrapped)
        } else if path == .rtcV1 {
            throw .malformedConnectRequest(reason: "/rtc/v1 without join_request")
        } else {
            join = try legacyJoinRequest(query)
        }
        return SignalConnectRequest(path: path, isValidation: isValidation, token: token,
                                    room: query["room"], join: join)
    }

    /// `/rtc` query parameters as livekit-server reads them (`validateInternal`, `ParseClientInfo`).
    /// Public so the server reads an already-split query the same way.
    public static func legacyJoinRequest(_ query: [String: String]) throws(LiveKitProtocolError) -> Livekit_JoinRequest {
        var join = Livekit_JoinRequest()
        var client = Livekit_ClientInfo()
        client.sdk = sdk(query["sdk"] ?? "")
        client.version = query["version"] ?? ""
        client.os = query["os"] ?? ""
        client.osVersion = query["os_version"] ?? ""
        client.deviceModel = query["device_model"] ?? ""
        client.browser = query["browser"] ?? ""
        client.browserVersion = query["browser_version"] ?? ""
        client.network = query["network"] ?? ""
        client.protocol = try integer(query, "protocol")
        client.clientProtocol = try integer(query, "client_protocol")
        client.capabilities = (query["capabilities"] ?? "").split(separator: ",").compactMap(capability)
        join.clientInfo = client

        var settings = Livekit_ConnectionSettings()
        // LiveKit's default: auto-subscribe unless the client says otherwise.
        settings.autoSubscribe = query["auto_subscribe"].map(boolean) ?? true
        settings.adaptiveStream = query["adaptive_stream"].map(boolean) ?? false
        if let pause = query["subscriber_allow_pause"] { settings.subscriberAllowPause = boolean(pause) }
        settings.disableIceLite = query["disable_ice_lite"].map(boolean) ?? false
        join.connectionSettings = settings

        join.reconnect = query["reconnect"].map(boolean) ?? false
        join.reconnectReason = Livekit_ReconnectReason(rawValue: Int(try integer(query, "reconnect_reason"))) ?? .rrUnknown
        if join.reconnect { join.participantSid = query["sid"] ?? "" }
        if let attributes = query["attributes"], !attributes.isEmpty {
            join.participantAttributes = try legacyAttributes(attributes)
        }
        return join
    }

    /// The `/rtc` `attributes` parameter: base64url (padded or not) of a JSON object of strings
    /// (livekit-server `decodeAttributes`). livekit-server refuses an undecodable one on
    /// `…/validate` and ignores it on a join; we refuse it on both, so a client learns why.
    static func legacyAttributes(_ value: String) throws(LiveKitProtocolError) -> [String: String] {
        guard let bytes = Base64.decodeURL(value) else {
            throw .malformedConnectRequest(reason: "cannot decode attributes: not base64url")
        }
        do {
            return try JSONDecoder().decode([String: String].self, from: Data(bytes))
        } catch {
            throw .malformedConnectRequest(reason: "cannot decode attributes: not a JSON object of strings")
        }
    }

    /// The enum value names of `ClientInfo.Capability`, as the Rust SDK lists them.
    private static func capability(_ name: Substring) -> Livekit_ClientInfo.Capability? {
        switch name {
        case "CAP_PACKET_TRAILER": .capPacketTrailer
        case "CAP_COMPRESSION_DEFLATE_RAW": .capCompressionDeflateRaw
        default: nil
        }
    }

    /// Go's `boolValue`: "1" and "true" are true, anything else false.
    private static func boolean(_ text: String) -> Bool { text == "1" || text == "true" }

    private static func integer(_ query: [String: String], _ key: String) throws(LiveKitProtocolError) -> Int32 {
        guard let text = query[key], !text.isEmpty else { return 0 }
        guard let value = Int32(text) else { throw .malformedConnectRequest(reason: "\(key)=\(text) is not an integer") }
        return value
    }

    private static func sdk(_ name: String) -> Livekit_ClientInfo.SDK {
        switch name {
        case "js": .js
        case "ios", "swift": .swift
        case "android": .android
        case "flutter": .flutter
        case "go": .go
        case "unity": .unity
        case "reactnative": .reactNative
        case "rust": .rust
        case "python": .python
        case "cpp": .cpp
        case "unityweb": .unityWeb
        case "node": .node
        case "unreal": .unreal
        case "esp32": .esp32
        case "dotnet": .dotnet
        default: .unknown
        }
    }

    /// `application/x-www-form-urlencoded` (WHATWG URL §5.1): `&`-separated, `+` is a space,
    /// percent escapes. The first of a repeated key wins, as Go's `FormValue`.
    static func parseQuery(_ query: Substring) throws(LiveKitProtocolError) -> [String: String] {
        var result: [String: String] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let (rawKey, rawValue): (Substring, Substring)
            if let equals = pair.firstIndex(of: "=") {
                (rawKey, rawValue) = (pair[..<equals], pair[pair.index(after: equals)...])
            } else {
                (rawKey, rawValue) = (pair, "")
            }
            guard let key = rawKey.replacingOccurrences(of: "+", with: " ").removingPercentEncoding,
                  let value = rawValue.replacingOccurrences(of: "+", with: " ").removingPercentEncoding else {
                throw .malformedConnectRequest(reason: "bad percent-encoding in query parameter \(rawKey)")
            }
            if result[key] == nil { result[key] = value }
        }
        return result
    }
}
