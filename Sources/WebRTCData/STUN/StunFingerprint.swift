/// FINGERPRINT (RFC 8489 §14.7): CRC-32 (ISO HDLC, the one zlib uses) of the message up to the
/// attribute, XOR 0x5354554e, with the length field already counting FINGERPRINT. ICE adds it to
/// every check so STUN is told apart from other traffic on the port (RFC 8445 §7.2.2).
enum StunFingerprint {
    static let xorValue: UInt32 = 0x5354_554E

    private static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        return crc
    }

    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    static func value(of bytes: ArraySlice<UInt8>) -> UInt32 { crc32(bytes) ^ xorValue }
}

extension StunMessage {
    /// Checks FINGERPRINT on received bytes: it must be the last attribute (RFC 8489 §14.7).
    static func verifyFingerprint(_ bytes: [UInt8]) throws(WebRTCDataError) {
        guard bytes.count >= headerLength + 8,
              UInt16(bytes[bytes.count - 8]) << 8 | UInt16(bytes[bytes.count - 7]) == StunAttributeType.fingerprint.rawValue
        else { throw WebRTCDataError(.stun, .fingerprintMissing) }
        let offset = bytes.count - 8
        let expected = StunFingerprint.value(of: bytes[0..<offset])
        guard read32(bytes, offset + 4) == expected else {
            throw WebRTCDataError(.stun, .fingerprintMismatch, at: "byte \(offset)",
                                  "expected 0x\(String(expected, radix: 16)), found 0x\(String(read32(bytes, offset + 4), radix: 16))")
        }
    }
}
