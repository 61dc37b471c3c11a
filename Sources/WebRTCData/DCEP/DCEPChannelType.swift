/// The reliability of a data channel as DCEP carries it (RFC 8832 §5.1, "Channel Type").
///
/// The high bit (0x80) marks unordered delivery; the low bits pick the partial-reliability
/// policy, whose parameter travels in the OPEN message's "Reliability Parameter" field.
enum DCEPChannelType: UInt8, Sendable, CaseIterable {
    case reliable = 0x00
    case partialReliableRexmit = 0x01
    case partialReliableTimed = 0x02
    case reliableUnordered = 0x80
    case partialReliableRexmitUnordered = 0x81
    case partialReliableTimedUnordered = 0x82

    var ordered: Bool { rawValue & 0x80 == 0 }

    init(ordered: Bool, reliability: DataChannelReliability) {
        switch (ordered, reliability) {
        case (true, .reliable): self = .reliable
        case (true, .maxRetransmits): self = .partialReliableRexmit
        case (true, .maxPacketLifeTime): self = .partialReliableTimed
        case (false, .reliable): self = .reliableUnordered
        case (false, .maxRetransmits): self = .partialReliableRexmitUnordered
        case (false, .maxPacketLifeTime): self = .partialReliableTimedUnordered
        }
    }

    /// The reliability policy this type names, with its parameter (RFC 8832 §5.1: ignored for
    /// reliable channels).
    func reliability(parameter: UInt32) -> DataChannelReliability {
        switch self {
        case .reliable, .reliableUnordered: .reliable
        case .partialReliableRexmit, .partialReliableRexmitUnordered: .maxRetransmits(parameter)
        case .partialReliableTimed, .partialReliableTimedUnordered: .maxPacketLifeTime(milliseconds: parameter)
        }
    }
}

/// How hard SCTP tries to deliver a channel's messages (RFC 8831 §6.1, PR-SCTP RFC 3758).
public enum DataChannelReliability: Sendable, Equatable, Hashable {
    /// Every message is retransmitted until acknowledged.
    case reliable
    /// A message is abandoned after this many retransmissions (0 = sent once).
    case maxRetransmits(UInt32)
    /// A message is abandoned once it is this old.
    case maxPacketLifeTime(milliseconds: UInt32)

    /// The DCEP "Reliability Parameter" for this policy (0 for reliable channels).
    var parameter: UInt32 {
        switch self {
        case .reliable: 0
        case .maxRetransmits(let n): n
        case .maxPacketLifeTime(let ms): ms
        }
    }
}
