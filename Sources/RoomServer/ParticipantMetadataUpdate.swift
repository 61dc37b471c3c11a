import LiveKitProtocol

/// The rules for signal request `update_metadata` (`UpdateParticipantMetadata`), in
/// livekit-server's order (`pkg/rtc/participant.go` `UpdateMetadata`, `checkMetadataLimits`,
/// `SetName`, `SetMetadata`, `SetAttributes`):
/// 1. the `canUpdateOwnMetadata` grant → NOT_ALLOWED;
/// 2. `name` at most 256 bytes, `metadata` at most 512 KiB, the request's attributes at most
///    64 KiB of keys and values (LiveKit's default limits) → LIMIT_EXCEEDED. Ours besides: the
///    participant's attributes after the change also stay within 64 KiB, so repeated requests
///    cannot grow them without bound;
/// 3. a non-empty `name` or `metadata` replaces the current one (an empty one leaves it);
///    each attribute is set, an empty value deletes the key.
/// The answer is a `RequestResponse` echoing the request with its `request_id`, OK or the
/// refusal.
struct ParticipantMetadataUpdate: Equatable, Sendable {
    var reason: Livekit_RequestResponse.Reason
    var message: String
    /// Whether the participant's info changed (and must be broadcast).
    var changed: Bool

    /// livekit-server's defaults (`pkg/config/config.go`, `LimitConfig`).
    static let maximumNameLength = 256
    static let maximumMetadataSize = 512 * 1024
    static let maximumAttributesSize = 64 * 1024

    /// Applies `update` to `info` when allowed; `info` is left alone otherwise.
    static func apply(_ update: Livekit_UpdateParticipantMetadata, to info: inout Livekit_ParticipantInfo,
                      canUpdateOwnMetadata: Bool) -> ParticipantMetadataUpdate {
        guard canUpdateOwnMetadata else {
            return .init(reason: .notAllowed, message: "does not have permission to update own metadata", changed: false)
        }
        guard update.name.utf8.count <= maximumNameLength else {
            return .init(reason: .limitExceeded, message: "exceeds name length limit", changed: false)
        }
        guard update.metadata.utf8.count <= maximumMetadataSize else {
            return .init(reason: .limitExceeded, message: "exceeds metadata size limit", changed: false)
        }
        var attributes = info.attributes
        for (key, value) in update.attributes {
            if value.isEmpty { attributes[key] = nil } else { attributes[key] = value }
        }
        guard size(of: update.attributes) <= maximumAttributesSize, size(of: attributes) <= maximumAttributesSize else {
            return .init(reason: .limitExceeded, message: "exceeds attributes size limit", changed: false)
        }
        var changed = false
        if !update.name.isEmpty, update.name != info.name {
            info.name = update.name
            changed = true
        }
        if !update.metadata.isEmpty, update.metadata != info.metadata {
            info.metadata = update.metadata
            changed = true
        }
        if attributes != info.attributes {
            info.attributes = attributes
            changed = true
        }
        return .init(reason: .ok, message: "", changed: changed)
    }

    /// Go `CheckAttributesSize`: bytes of every key and value.
    private static func size(of attributes: [String: String]) -> Int {
        attributes.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
    }

    /// The `RequestResponse` answering `update`.
    func response(to update: Livekit_UpdateParticipantMetadata) -> Livekit_SignalResponse {
        var answer = Livekit_RequestResponse()
        answer.requestID = update.requestID
        answer.reason = reason
        answer.message = message
        answer.request = .updateMetadata(update)
        var response = Livekit_SignalResponse()
        response.message = .requestResponse(answer)
        return response
    }
}
