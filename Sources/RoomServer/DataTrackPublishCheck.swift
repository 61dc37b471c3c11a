import LiveKitProtocol

/// The checks a server runs on `PublishDataTrackRequest` (signal request 19) before it accepts a
/// track, in livekit-server's order (`pkg/rtc/participant_data_track.go`):
/// 1. the `canPublishData` grant → NOT_ALLOWED,
/// 2. `pub_handle` in 1…65535 → INVALID_HANDLE,
/// 3. `name` 1…256 bytes of UTF-8 (Go `len`) → INVALID_NAME,
/// 4. a custom frame encoding or schema encoding 1…32 bytes → INVALID_REQUEST,
/// 5. no published track of this participant with the same handle → DUPLICATE_HANDLE, or the
///    same name → DUPLICATE_NAME (checked per existing track, handle first);
/// 6. ours, not livekit-server's: fewer than `maximumTracksPerParticipant` tracks published
///    already → LIMIT_EXCEEDED. livekit-server has no such limit; every track lengthens the
///    participant's info, which goes to every member on each change, so without one a single
///    participant's publishes cost the server the square of their number.
/// A refusal is a `RequestResponse` echoing the request (`refusal(of:)`).
struct DataTrackPublishCheck: Equatable, Sendable {
    var reason: Livekit_RequestResponse.Reason
    var message: String

    static let maximumNameLength = 256
    /// livekit-server's default `max_data_track_custom_encoding_length`.
    static let maximumCustomEncodingLength = 32
    /// Data tracks one participant may have published at once (docs/serve.md).
    static let maximumTracksPerParticipant = 256

    /// Nil when the request may be published beside `existing` (this participant's tracks).
    static func refusal(of request: Livekit_PublishDataTrackRequest, canPublishData: Bool,
                        existing: [Livekit_DataTrackInfo]) -> DataTrackPublishCheck? {
        guard canPublishData else {
            return .init(reason: .notAllowed, message: "does not have permission to publish data")
        }
        guard (1...65535).contains(request.pubHandle) else {
            return .init(reason: .invalidHandle, message: "handle should be > 0 AND < 65536")
        }
        guard (1...maximumNameLength).contains(request.name.utf8.count) else {
            return .init(reason: .invalidName, message: "name should not be empty and should not exceed 256 characters")
        }
        guard customEncodingAllowed(request) else {
            return .init(reason: .invalidRequest, message: "encoding identifier is empty or exceeds the maximum length")
        }
        for track in existing {
            if track.pubHandle == request.pubHandle {
                return .init(reason: .duplicateHandle, message: "a data track with same handle already exists")
            }
            if track.name == request.name {
                return .init(reason: .duplicateName, message: "a data track with same name already exists")
            }
        }
        guard existing.count < maximumTracksPerParticipant else {
            return .init(reason: .limitExceeded,
                         message: "data track limit reached: a participant may publish at most \(maximumTracksPerParticipant) data tracks")
        }
        return nil
    }

    private static func customEncodingAllowed(_ request: Livekit_PublishDataTrackRequest) -> Bool {
        if request.hasFrameEncoding, case .custom(let custom)? = request.frameEncoding.value,
           !(1...maximumCustomEncodingLength).contains(custom.utf8.count) {
            return false
        }
        if request.hasSchema, request.schema.hasEncoding, case .custom(let custom)? = request.schema.encoding.value,
           !(1...maximumCustomEncodingLength).contains(custom.utf8.count) {
            return false
        }
        return true
    }

    /// The signal response carrying this refusal, echoing `request`.
    func response(to request: Livekit_PublishDataTrackRequest) -> Livekit_SignalResponse {
        var refusal = Livekit_RequestResponse()
        refusal.reason = reason
        refusal.message = message
        refusal.request = .publishDataTrack(request)
        var response = Livekit_SignalResponse()
        response.message = .requestResponse(refusal)
        return response
    }
}
