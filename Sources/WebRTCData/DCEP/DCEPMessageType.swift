/// DCEP message types (RFC 8832 §8.2.1). Every DCEP message travels with SCTP PPID 50.
enum DCEPMessageType: UInt8, Sendable {
    case ack = 0x02
    case open = 0x03
}

/// Decodes any DCEP message: its first byte picks the type (RFC 8832 §5).
enum DCEPMessage: Sendable, Equatable {
    case open(DCEPOpen)
    case ack

    init(bytes: [UInt8]) throws(WebRTCDataError) {
        guard let first = bytes.first else {
            throw WebRTCDataError(.dcep, .truncated, "message type", expected: "1 byte", found: "empty message", offset: 0)
        }
        switch DCEPMessageType(rawValue: first) {
        case .open: self = .open(try DCEPOpen(bytes: bytes))
        case .ack:
            _ = try DCEPAck(bytes: bytes)
            self = .ack
        case nil:
            throw WebRTCDataError(.dcep, .badValue, "message type", expected: "0x02 ACK or 0x03 OPEN",
                                   found: "0x" + String(first, radix: 16), offset: 0)
        }
    }
}
