/// One message on a data channel: text travels with PPID 51/56, binary with 53/57 (RFC 8831 §6.6).
public enum DataChannelMessage: Sendable, Equatable {
    case text(String)
    case binary([UInt8])

    /// The payload bytes as they travel.
    public var bytes: [UInt8] {
        switch self {
        case .text(let text): Array(text.utf8)
        case .binary(let bytes): bytes
        }
    }
}

/// The lifecycle of a data channel (W3C WebRTC §6.2 RTCDataChannelState).
public enum DataChannelState: Sendable, Equatable {
    case connecting
    case open
    case closing
    case closed
}
