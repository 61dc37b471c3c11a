/// What went wrong in the data-channel half of the stack (DTLS, SCTP, DCEP, data channels), with
/// where it happened. One typed error for these layers; a decoder never traps on peer input.
public struct DataChannelError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Layer: String, Sendable {
        case dcep = "DCEP", dtls = "DTLS", sctp = "SCTP", dataChannel = "data channel"
    }

    /// The layer that raised it.
    public let layer: Layer
    /// What was being read or done, e.g. "DATA_CHANNEL_OPEN label".
    public let what: String
    /// What the layer expected.
    public let expected: String
    /// What it found instead.
    public let found: String
    /// Byte offset into the message, when the error is about a wire message.
    public let offset: Int?

    init(_ layer: Layer, _ what: String, expected: String, found: String, offset: Int? = nil) {
        self.layer = layer
        self.what = what
        self.expected = expected
        self.found = found
        self.offset = offset
    }

    public var description: String {
        let at = offset.map { " at byte \($0)" } ?? ""
        return "\(layer.rawValue): \(what)\(at): expected \(expected), found \(found)"
    }
}
