import Foundation
import LiveKitProtocol

/// What a client asked for when it opened the signal WebSocket, read from the upgrade request
/// (docs/WIRE.md): the verified token, the room, which of LiveKit's two signaling paths it used,
/// and whether this is a resume attempt.
struct JoinParameters: Sendable {
    enum Path: String, Sendable {
        /// `/rtc/v1`: one peer connection; the publisher offer rides in the join request.
        case singlePeerConnection = "/rtc/v1"
        /// `/rtc`: publisher and subscriber peer connections; client info in query parameters.
        case dualPeerConnection = "/rtc"
    }

    var claims: AccessTokenClaims
    var grant: VideoGrant
    var room: String
    var path: Path
    /// `/rtc/v1` only: the publisher's SDP offer and its id.
    var publisherOffer: Livekit_SessionDescription?
    var clientInfo: Livekit_ClientInfo
    var autoSubscribe: Bool
    /// A resume attempt (`reconnect=1`, or `JoinRequest.reconnect`): we answer it with
    /// `Leave{action: RECONNECT}` so the client joins afresh.
    var reconnect: Bool
    /// With `reconnect`: the participant sid the client had (`sid=`, `participant_sid`) and why
    /// it reconnects; only logged.
    var resumeSID = ""
    var reconnectReason: Livekit_ReconnectReason = .rrUnknown
    var metadata: String
    var attributes: [String: String]

    /// Reads and checks the request: token first (401 on any failure, as LiveKit), then the
    /// path's own parameters (400).
    static func parse(path: Path, query: [String: String], authorization: String?,
                      keys: [String: String], now: Date = Date()) throws(RoomServerError) -> JoinParameters {
        let token: String
        if let authorization, authorization.lowercased().hasPrefix("bearer ") {
            token = String(authorization.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        } else if let value = query["access_token"], !value.isEmpty {
            token = value
        } else {
            throw .missingToken
        }
        let claims: AccessTokenClaims
        do {
            claims = try AccessToken.verify(token, keys: keys, now: now)
        } catch .unknownKey, .badSignature {
            throw .unverifiedToken
        } catch {
            throw .invalidToken(error)
        }
        guard let grant = claims.video, grant.roomJoin == true else {
            throw .notAllowed(room: claims.video?.room ?? "", reason: "token has no roomJoin grant")
        }
        guard let room = grant.room, !room.isEmpty else {
            throw .notAllowed(room: "", reason: "token names no room")
        }
        guard !claims.identity.isEmpty else {
            throw .notAllowed(room: room, reason: "token has no identity (sub)")
        }

        var parameters = JoinParameters(claims: claims, grant: grant, room: room, path: path, publisherOffer: nil,
                                        clientInfo: Livekit_ClientInfo(), autoSubscribe: true, reconnect: false,
                                        metadata: claims.metadata ?? "", attributes: claims.attributes ?? [:])
        switch path {
        case .singlePeerConnection:
            guard let value = query["join_request"], !value.isEmpty else {
                throw .badJoinRequest(parameter: "join_request", reason: "missing")
            }
            let request: Livekit_JoinRequest
            do {
                request = try JoinRequestQuery.decode(value)
            } catch {
                throw .badJoinRequest(parameter: "join_request", reason: "\(error)")
            }
            parameters.clientInfo = request.clientInfo
            parameters.autoSubscribe = request.hasConnectionSettings ? request.connectionSettings.autoSubscribe : true
            parameters.reconnect = request.reconnect
            parameters.resumeSID = request.participantSid
            parameters.reconnectReason = request.reconnectReason
            if request.hasPublisherOffer { parameters.publisherOffer = request.publisherOffer }
            try parameters.apply(metadata: request.metadata, attributes: request.participantAttributes)
        case .dualPeerConnection:
            // The same reading of livekit-server's `/rtc` query parameters the protocol layer uses.
            let request: Livekit_JoinRequest
            do {
                request = try SignalConnectRequest.legacyJoinRequest(query)
            } catch {
                throw .badJoinRequest(parameter: "query", reason: "\(error)")
            }
            parameters.clientInfo = request.clientInfo
            parameters.autoSubscribe = request.connectionSettings.autoSubscribe
            parameters.reconnect = request.reconnect
            parameters.resumeSID = request.participantSid
            parameters.reconnectReason = request.reconnectReason
            try parameters.apply(metadata: "", attributes: request.participantAttributes)
        }
        return parameters
    }

    /// Metadata and attributes a client asks for in its join request, over the token's. As
    /// livekit-server `ValidateConnectRequest` (`pkg/service/utils.go`): asking for either
    /// without the `canUpdateOwnMetadata` grant refuses the join (401); with it, non-empty
    /// metadata replaces the token's and each attribute is set, except that an empty value does
    /// not delete a key.
    private mutating func apply(metadata: String, attributes: [String: String]) throws(RoomServerError) {
        if !metadata.isEmpty {
            guard grant.allowsUpdateOwnMetadata else {
                throw .notAllowed(room: room, reason: "the join request sets metadata, which needs the canUpdateOwnMetadata grant")
            }
            self.metadata = metadata
        }
        if !attributes.isEmpty {
            guard grant.allowsUpdateOwnMetadata else {
                throw .notAllowed(room: room, reason: "the join request sets attributes, which needs the canUpdateOwnMetadata grant")
            }
            for (key, value) in attributes where !value.isEmpty { self.attributes[key] = value }
        }
    }
}
