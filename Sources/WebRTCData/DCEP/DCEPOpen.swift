/// DATA_CHANNEL_OPEN (RFC 8832 §5.1), sent on the stream the opener chose, PPID 50.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Message Type |  Channel Type |            Priority           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Reliability Parameter                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Label Length          |       Protocol Length         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// \                             Label                             /
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// \                            Protocol                           /
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// Label and protocol are UTF-8 (RFC 8832 §5.1); lengths are exact, trailing bytes are an error.
struct DCEPOpen: Sendable, Equatable {
    static let headerLength = 12

    var channelType: DCEPChannelType
    /// RFC 8832 §5.1 / RFC 8831 §6.4: 128 below normal, 256 normal, 512 high, 1024 extra high.
    var priority: UInt16
    var reliabilityParameter: UInt32
    var label: String
    var `protocol`: String

    init(channelType: DCEPChannelType, priority: UInt16 = 256, reliabilityParameter: UInt32 = 0,
         label: String, protocol: String = "") {
        self.channelType = channelType
        self.priority = priority
        self.reliabilityParameter = reliabilityParameter
        self.label = label
        self.protocol = `protocol`
    }

    var ordered: Bool { channelType.ordered }
    var reliability: DataChannelReliability { channelType.reliability(parameter: reliabilityParameter) }

    init(bytes: [UInt8]) throws(WebRTCDataError) {
        guard bytes.count >= Self.headerLength else {
            throw WebRTCDataError(.dcep, .truncated, "DATA_CHANNEL_OPEN header", expected: "12 bytes",
                                   found: "\(bytes.count) bytes", offset: bytes.count)
        }
        guard bytes[0] == DCEPMessageType.open.rawValue else {
            throw WebRTCDataError(.dcep, .badValue, "DATA_CHANNEL_OPEN message type", expected: "0x03",
                                   found: "0x" + String(bytes[0], radix: 16), offset: 0)
        }
        guard let type = DCEPChannelType(rawValue: bytes[1]) else {
            throw WebRTCDataError(.dcep, .badValue, "DATA_CHANNEL_OPEN channel type",
                                   expected: "0x00, 0x01, 0x02, 0x80, 0x81 or 0x82",
                                   found: "0x" + String(bytes[1], radix: 16), offset: 1)
        }
        let labelLength = Int(bytes[8]) << 8 | Int(bytes[9])
        let protocolLength = Int(bytes[10]) << 8 | Int(bytes[11])
        let total = Self.headerLength + labelLength + protocolLength
        guard bytes.count == total else {
            throw WebRTCDataError(.dcep, .badLength, "DATA_CHANNEL_OPEN label and protocol",
                                   expected: "\(total) bytes in all", found: "\(bytes.count) bytes",
                                   offset: min(bytes.count, total))
        }
        let labelBytes = bytes[12 ..< 12 + labelLength]
        let protocolBytes = bytes[(12 + labelLength)...]
        guard let label = String(validating: labelBytes, as: UTF8.self) else {
            throw WebRTCDataError(.dcep, .badValue, "DATA_CHANNEL_OPEN label", expected: "UTF-8",
                                   found: "invalid UTF-8", offset: 12)
        }
        guard let proto = String(validating: protocolBytes, as: UTF8.self) else {
            throw WebRTCDataError(.dcep, .badValue, "DATA_CHANNEL_OPEN protocol", expected: "UTF-8",
                                   found: "invalid UTF-8", offset: 12 + labelLength)
        }
        channelType = type
        priority = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
        reliabilityParameter = UInt32(bytes[4]) << 24 | UInt32(bytes[5]) << 16
            | UInt32(bytes[6]) << 8 | UInt32(bytes[7])
        self.label = label
        self.protocol = proto
    }

    /// Encodes the message. Label and protocol longer than 65535 UTF-8 bytes cannot be carried.
    func encoded() throws(WebRTCDataError) -> [UInt8] {
        let labelBytes = Array(label.utf8)
        let protocolBytes = Array(self.protocol.utf8)
        guard labelBytes.count <= Int(UInt16.max) else {
            throw WebRTCDataError(.dcep, .tooLong, "DATA_CHANNEL_OPEN label", expected: "at most 65535 bytes",
                                   found: "\(labelBytes.count) bytes")
        }
        guard protocolBytes.count <= Int(UInt16.max) else {
            throw WebRTCDataError(.dcep, .tooLong, "DATA_CHANNEL_OPEN protocol", expected: "at most 65535 bytes",
                                   found: "\(protocolBytes.count) bytes")
        }
        var out: [UInt8] = []
        out.reserveCapacity(Self.headerLength + labelBytes.count + protocolBytes.count)
        out.append(DCEPMessageType.open.rawValue)
        out.append(channelType.rawValue)
        out.append(UInt8(priority >> 8)); out.append(UInt8(priority & 0xFF))
        for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8((reliabilityParameter >> UInt32(shift)) & 0xFF)) }
        out.append(UInt8(labelBytes.count >> 8)); out.append(UInt8(labelBytes.count & 0xFF))
        out.append(UInt8(protocolBytes.count >> 8)); out.append(UInt8(protocolBytes.count & 0xFF))
        out += labelBytes
        out += protocolBytes
        return out
    }
}
