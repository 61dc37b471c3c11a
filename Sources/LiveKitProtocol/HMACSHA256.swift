import COpenSSL

/// HMAC-SHA256 (RFC 2104, FIPS 180-4) through OpenSSL: the JWS `HS256` algorithm (RFC 7518 §3.2).
enum HMACSHA256 {
    /// The 32-byte MAC, or an empty array if OpenSSL cannot compute it (a key longer than
    /// `Int32.max`, or an allocation failure); an empty MAC never verifies (`equal`).
    static func mac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        guard let keyLength = Int32(exactly: key.count) else { return [] }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        // OpenSSL wants a non-null key pointer even for an empty key; a one-byte dummy is
        // never read when the length is 0.
        let keyBytes = key.isEmpty ? [0] : key
        let result = keyBytes.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                out.withUnsafeMutableBufferPointer { o in
                    HMAC(EVP_sha256(), k.baseAddress, keyLength,
                         m.bindMemory(to: UInt8.self).baseAddress, m.count, o.baseAddress, &length)
                }
            }
        }
        // HMAC only fails on allocation failure or a bad digest; SHA-256 is built in.
        guard result != nil else { return [] }
        return Array(out.prefix(Int(length)))
    }

    /// Constant-time comparison (CRYPTO_memcmp), so a forger learns nothing from timing.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count, !a.isEmpty else { return false }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in
            CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0
        } }
    }
}
