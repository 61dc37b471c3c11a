import CUsrsctp

/// The SCTP common header and chunk framing (RFC 4960 §3), checked before a packet reaches
/// usrsctp so malformed input is counted with a reason rather than dropped silently.
///
/// ```
///  0                   1                   2                   3
/// +-------------------------------+-------------------------------+
/// |     Source Port Number        |     Destination Port Number   |
/// +-------------------------------+-------------------------------+
/// |                      Verification Tag                         |
/// +---------------------------------------------------------------+
/// |                         Checksum (CRC32c)                     |
/// +---------------+---------------+-------------------------------+
/// |  Chunk Type   |  Chunk Flags  |         Chunk Length          |  …one or more chunks,
/// +---------------+---------------+-------------------------------+     each padded to 4 bytes
/// ```
enum SCTPPacketHeader {
    static let length = 12

    /// Throws when the packet is not a common header followed by whole chunks, or its CRC32c
    /// (RFC 4960 §6.8, Appendix B) is wrong.
    static func validate(_ packet: [UInt8]) throws(WebRTCDataError) {
        guard packet.count >= length + 4 else {
            throw WebRTCDataError(.sctp, .truncated, "SCTP packet", expected: "a 12-byte header and a chunk",
                                  found: "\(packet.count) bytes", offset: packet.count)
        }
        var offset = length
        var index = 0
        while offset < packet.count {
            guard packet.count - offset >= 4 else {
                throw WebRTCDataError(.sctp, .truncated, "SCTP chunk \(index) header", expected: "4 bytes",
                                      found: "\(packet.count - offset) bytes", offset: offset)
            }
            let chunkLength = Int(packet[offset + 2]) << 8 | Int(packet[offset + 3])
            guard chunkLength >= 4, offset + chunkLength <= packet.count else {
                throw WebRTCDataError(.sctp, .badLength, "SCTP chunk \(index) length",
                                      expected: "4…\(packet.count - offset)", found: "\(chunkLength)", offset: offset + 2)
            }
            // RFC 4960 §3.2: chunks are padded to 4 bytes; the last one's padding may be absent.
            offset += (chunkLength + 3) & ~3
            index += 1
        }
        guard checksum(of: packet) == storedChecksum(packet) else {
            throw WebRTCDataError(.sctp, .badChecksum, "SCTP checksum", expected: "CRC32c of the packet",
                                  found: "a mismatch", offset: 8)
        }
    }

    /// The checksum field as it lies in memory (usrsctp computes it in that representation).
    static func storedChecksum(_ packet: [UInt8]) -> UInt32 {
        packet.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self) }
    }

    /// CRC32c over the packet with the checksum field zeroed.
    static func checksum(of packet: [UInt8]) -> UInt32 {
        var copy = packet
        copy[8] = 0; copy[9] = 0; copy[10] = 0; copy[11] = 0
        return copy.withUnsafeMutableBytes { usrsctp_crc32c($0.baseAddress, $0.count) }
    }

    /// Writes the checksum into an outgoing packet (usrsctp leaves it to us with CRC32c offload on).
    static func fillChecksum(_ packet: inout [UInt8]) {
        guard packet.count >= length else { return }
        packet[8] = 0; packet[9] = 0; packet[10] = 0; packet[11] = 0
        let sum = packet.withUnsafeMutableBytes { usrsctp_crc32c($0.baseAddress, $0.count) }
        packet.withUnsafeMutableBytes { $0.storeBytes(of: sum, toByteOffset: 8, as: UInt32.self) }
    }
}

extension WebRTCDataError.Reason {
    static let badChecksum = Self("bad checksum")
}
