import SwiftProtobuf

/// One signal message per binary WebSocket frame (docs/WIRE.md): `SignalRequest` from the
/// client, `SignalResponse` from the server, plain protobuf with no length prefix or envelope.
public enum SignalFrame {
    /// A client's frame, as a server reads it.
    public static func decodeRequest(_ bytes: [UInt8]) throws(LiveKitProtocolError) -> Livekit_SignalRequest {
        do {
            return try Livekit_SignalRequest(serializedBytes: bytes)
        } catch {
            throw .malformedSignalFrame(message: "SignalRequest", reason: "\(error) in \(bytes.count) bytes")
        }
    }

    /// A server's frame, as a client reads it.
    public static func decodeResponse(_ bytes: [UInt8]) throws(LiveKitProtocolError) -> Livekit_SignalResponse {
        do {
            return try Livekit_SignalResponse(serializedBytes: bytes)
        } catch {
            throw .malformedSignalFrame(message: "SignalResponse", reason: "\(error) in \(bytes.count) bytes")
        }
    }

    /// The frame bytes of `message`. Encoding a message built in memory cannot fail in proto3
    /// (no required fields; Swift strings are valid UTF-8), so this does not throw.
    public static func encode(_ message: some SwiftProtobuf.Message) -> [UInt8] {
        (try? message.serializedBytes()) ?? []
    }
}
