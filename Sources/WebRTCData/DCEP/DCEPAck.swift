/// DATA_CHANNEL_ACK (RFC 8832 §5.2): one byte, 0x02, sent back on the stream of the OPEN.
///
/// ```
///  0 1 2 3 4 5 6 7
/// +-+-+-+-+-+-+-+-+
/// |  Message Type |
/// +-+-+-+-+-+-+-+-+
/// ```
struct DCEPAck: Sendable, Equatable {
    init() {}

    /// RFC 8832 §5.2 defines no further fields; trailing bytes are tolerated as libwebrtc does,
    /// since an ACK carries nothing a receiver could misread.
    init(bytes: [UInt8]) throws(WebRTCDataError) {
        guard let first = bytes.first else {
            throw WebRTCDataError(.dcep, .truncated, "DATA_CHANNEL_ACK", expected: "1 byte", found: "empty message", offset: 0)
        }
        guard first == DCEPMessageType.ack.rawValue else {
            throw WebRTCDataError(.dcep, .badValue, "DATA_CHANNEL_ACK message type", expected: "0x02",
                                   found: "0x" + String(first, radix: 16), offset: 0)
        }
    }

    func encoded() -> [UInt8] { [DCEPMessageType.ack.rawValue] }
}
