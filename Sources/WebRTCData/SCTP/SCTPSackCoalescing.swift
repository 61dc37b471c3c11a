/// Drops the SACKs that a later packet of the same batch makes redundant, so a receiver that
/// acknowledges every DATA packet at once still sends about one SACK per batch of datagrams it
/// read together.
///
/// A SACK (RFC 4960 §3.3.4) states the receiver's whole view at the time it was made: the
/// cumulative TSN ack only grows, and the window and gap blocks are the newest ones. A later
/// SACK therefore says everything an earlier one said, except the duplicate TSNs the earlier
/// one reported (advisory, RFC 4960 §6.2), so the earlier one can go unsent, as a SACK lost on
/// the path would. RFC 4960 §6.2 asks for a SACK at least every second packet; one per batch
/// is sent as soon as the batch has been read, so no SACK waits longer than the batch takes.
///
/// Only packets made of a single SACK chunk are dropped, and only when a later packet in the
/// same list carries a SACK chunk (alone or bundled with DATA); every other packet keeps its
/// place and order.
enum SCTPSackCoalescing {
    /// RFC 4960 §3.2: chunk type 3.
    static let sackChunkType: UInt8 = 3

    private enum Content { case sackOnly, withSack, other }

    /// `packets` in order, less each SACK-only packet that a later one supersedes.
    static func coalesce(_ packets: [[UInt8]]) -> [[UInt8]] {
        guard packets.count > 1 else { return packets }
        var kept: [[UInt8]] = []
        kept.reserveCapacity(packets.count)
        var laterSack = false
        for packet in packets.reversed() {
            switch content(of: packet) {
            case .sackOnly:
                if laterSack { continue }
                laterSack = true
            case .withSack:
                laterSack = true
            case .other:
                break
            }
            kept.append(packet)
        }
        kept.reverse()
        return kept
    }

    /// Walks the chunks after the 12-byte common header (RFC 4960 §3.2: type, flags, length,
    /// padded to 4). A packet whose chunks do not add up counts as `other` and is kept.
    private static func content(of packet: [UInt8]) -> Content {
        var offset = 12
        var chunks = 0
        var sacks = 0
        while offset + 4 <= packet.count {
            let length = Int(packet[offset + 2]) << 8 | Int(packet[offset + 3])
            guard length >= 4, offset + length <= packet.count else { return .other }
            chunks += 1
            if packet[offset] == sackChunkType { sacks += 1 }
            offset += (length + 3) & ~3
        }
        guard sacks > 0 else { return .other }
        return chunks == 1 ? .sackOnly : .withSack
    }
}
