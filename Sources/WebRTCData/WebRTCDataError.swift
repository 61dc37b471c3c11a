/// The one error type of WebRTCData (docs/ARCHITECTURE.md): which layer failed, why, and where.
///
/// `reason` is an open set of named values (each layer declares its own in an extension beside
/// its code, e.g. `STUN/StunMessage.swift`), so layers add reasons without editing one shared
/// enum. `location` says where in the input: "byte 20", "line 7", "attribute 0x0008".
public struct WebRTCDataError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Layer: String, Hashable, Sendable {
        case sdp, stun, ice, transport, dtls, sctp, dcep, dataChannel, peerConnection
    }

    /// A machine-checkable cause; tests compare it, logs print it.
    public struct Reason: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }
    }

    public var layer: Layer
    public var reason: Reason
    /// Where in the input (byte offset, line number, attribute), when that is known.
    public var location: String?
    /// What was expected and what was found, in words.
    public var detail: String?

    public init(_ layer: Layer, _ reason: Reason, at location: String? = nil, _ detail: String? = nil) {
        self.layer = layer
        self.reason = reason
        self.location = location
        self.detail = detail
    }

    public var description: String {
        var text = "\(layer.rawValue): \(reason.rawValue)"
        if let location { text += " at \(location)" }
        if let detail { text += ": \(detail)" }
        return text
    }
}
