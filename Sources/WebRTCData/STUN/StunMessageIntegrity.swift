import COpenSSL

/// MESSAGE-INTEGRITY (RFC 8489 §14.5): HMAC-SHA1 over the message up to the attribute, with the
/// header length field set as if MESSAGE-INTEGRITY were the last attribute. ICE uses short-term
/// credentials: the key is the password as bytes (RFC 8445 §7.2.2, RFC 8489 §9.1.1 — no SASLprep
/// needed for ICE's ASCII passwords).
enum StunMessageIntegrity {
    static func hmacSHA1(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 20)
        var outLength: UInt32 = 20
        key.withUnsafeBufferPointer { keyBuffer in
            data.withUnsafeBufferPointer { dataBuffer in
                out.withUnsafeMutableBufferPointer { outBuffer in
                    _ = HMAC(EVP_sha1(), keyBuffer.baseAddress, Int32(keyBuffer.count),
                             dataBuffer.baseAddress, dataBuffer.count, outBuffer.baseAddress, &outLength)
                }
            }
        }
        return out
    }

    /// Long-term credentials (RFC 8489 §9.2.2, MD5 algorithm): key = MD5(username ":" realm ":"
    /// password). ICE does not use them; TURN does, and RFC 5769 §2.4 tests them. The password
    /// must already be SASLprep'ed (RFC 8265 OpaqueString) by the caller.
    static func longTermKey(username: String, realm: String, password: String) -> [UInt8] {
        let input = Array("\(username):\(realm):\(password)".utf8)
        var out = [UInt8](repeating: 0, count: 16)
        var outLength: UInt32 = 16
        input.withUnsafeBufferPointer { inputBuffer in
            out.withUnsafeMutableBufferPointer { outBuffer in
                _ = EVP_Digest(inputBuffer.baseAddress, inputBuffer.count, outBuffer.baseAddress, &outLength, EVP_md5(), nil)
            }
        }
        return out
    }
}

extension StunMessage {
    /// Checks the MESSAGE-INTEGRITY of received bytes (already decoded once) against `key`.
    /// Compares in constant time so a peer cannot learn the MAC byte by byte.
    static func verifyIntegrity(_ bytes: [UInt8], key: [UInt8]) throws(WebRTCDataError) {
        guard let offset = offset(of: .messageIntegrity, in: bytes), offset + 24 <= bytes.count else {
            throw WebRTCDataError(.stun, .integrityMissing)
        }
        var signed = Array(bytes[0..<offset])
        let length = offset - headerLength + 24
        signed[2] = UInt8(truncatingIfNeeded: length >> 8)
        signed[3] = UInt8(truncatingIfNeeded: length)
        let expected = StunMessageIntegrity.hmacSHA1(key: key, data: signed)
        var difference: UInt8 = 0
        for index in 0..<20 { difference |= expected[index] ^ bytes[offset + 4 + index] }
        guard difference == 0 else {
            throw WebRTCDataError(.stun, .integrityMismatch, at: "byte \(offset)")
        }
    }
}
