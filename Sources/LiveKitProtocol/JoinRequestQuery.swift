import Codecs
import Foundation
import SwiftProtobuf

/// The `join_request` query parameter of LiveKit's single peer connection path `/rtc/v1`
/// (docs/WIRE.md): base64url of a `WrappedJoinRequest{compression, join_request}` whose
/// `join_request` bytes are a `JoinRequest`, gzipped when `compression` is GZIP.
///
/// Clients differ: the Rust/Python SDKs pad the base64url, the Go SDK too, others may not; some
/// compress, some do not. Decoding accepts all of these.
public enum JoinRequestQuery {
    /// LiveKit refuses a join request larger than Go's `http.DefaultMaxHeaderBytes` (1 MiB),
    /// raw or once decompressed.
    public static let maximumSize = 1 << 20

    /// Decodes the query value (already percent-decoded) into the client's `JoinRequest`.
    public static func decode(_ value: String) throws(LiveKitProtocolError) -> Livekit_JoinRequest {
        guard value.utf8.count <= maximumSize * 4 / 3 + 4 else {
            throw .malformedJoinRequest(stage: "base64url", reason: "longer than \(maximumSize) bytes")
        }
        guard let bytes = Base64.decodeURL(value) else {
            throw .malformedJoinRequest(stage: "base64url", reason: "not base64url")
        }
        let wrapped: Livekit_WrappedJoinRequest
        do {
            wrapped = try Livekit_WrappedJoinRequest(serializedBytes: bytes)
        } catch {
            throw .malformedJoinRequest(stage: "WrappedJoinRequest", reason: "\(error)")
        }
        let inner: [UInt8]
        switch wrapped.compression {
        case .none:
            inner = Array(wrapped.joinRequest)
        case .gzip:
            do {
                inner = try Gzip.decompress(Array(wrapped.joinRequest), limit: maximumSize)
            } catch {
                throw .malformedJoinRequest(stage: "gzip", reason: "\(error)")
            }
        case .UNRECOGNIZED(let code):
            throw .malformedJoinRequest(stage: "WrappedJoinRequest", reason: "unknown compression \(code)")
        }
        do {
            return try Livekit_JoinRequest(serializedBytes: inner)
        } catch {
            throw .malformedJoinRequest(stage: "JoinRequest", reason: "\(error)")
        }
    }

    /// Encodes `request` as a client puts it in the URL: padded base64url, as the Rust SDK does,
    /// gzipped when `gzip` is set.
    public static func encode(_ request: Livekit_JoinRequest, gzip: Bool = false) -> String {
        // Serializing a message built in memory only fails for invalid UTF-8 in strings,
        // which Swift strings cannot hold.
        let inner: [UInt8] = (try? request.serializedBytes()) ?? []
        var wrapped = Livekit_WrappedJoinRequest()
        wrapped.compression = gzip ? .gzip : .none
        wrapped.joinRequest = Data(gzip ? Gzip.compress(inner) : inner)
        let outer: [UInt8] = (try? wrapped.serializedBytes()) ?? []
        let text = Base64.encodeURL(outer)
        return text + String(repeating: "=", count: (4 - text.utf8.count % 4) % 4)
    }
}
