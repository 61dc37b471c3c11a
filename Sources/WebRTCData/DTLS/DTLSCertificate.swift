import COpenSSL

/// A self-signed ECDSA P-256 certificate and its key, made once per peer connection (RFC 8827
/// §6.5: WebRTC endpoints authenticate by the SDP fingerprint, not by a CA).
///
/// Immutable after creation; OpenSSL reference-counts the key and certificate and reads them
/// from any thread, so the wrapper is shareable.
public final class DTLSCertificate: @unchecked Sendable {
    let key: OpaquePointer
    let certificate: OpaquePointer
    /// SHA-256 over the DER certificate, for `a=fingerprint`.
    public let fingerprint: SDPFingerprint

    /// Generates a fresh key pair and certificate valid from one day ago for 30 days.
    public init(commonName: String = "trackbag") throws(WebRTCDataError) {
        guard let key = cossl_generate_ec_key(NID_X9_62_prime256v1) else {
            throw WebRTCDataError(.dtls, .openSSL, "certificate key", expected: "an EC P-256 key", found: DTLSCertificate.opensslError())
        }
        guard let x509 = X509_new() else {
            EVP_PKEY_free(key)
            throw WebRTCDataError(.dtls, .openSSL, "certificate", expected: "X509_new", found: DTLSCertificate.opensslError())
        }
        var ok = X509_set_version(x509, 2) == 1
        var serial: UInt64 = 0
        withUnsafeMutableBytes(of: &serial) { _ = RAND_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), 8) }
        ok = ok && ASN1_INTEGER_set(X509_get_serialNumber(x509), Int(serial & 0x7FFF_FFFF)) == 1
        ok = ok && X509_gmtime_adj(X509_getm_notBefore(x509), -86_400) != nil
        ok = ok && X509_gmtime_adj(X509_getm_notAfter(x509), 30 * 86_400) != nil
        ok = ok && X509_set_pubkey(x509, key) == 1
        if let name = X509_get_subject_name(x509) {
            ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, commonName, -1, -1, 0) == 1
            ok = ok && X509_set_issuer_name(x509, name) == 1
        } else {
            ok = false
        }
        ok = ok && X509_sign(x509, key, EVP_sha256()) > 0
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        ok = ok && X509_digest(x509, EVP_sha256(), &digest, &length) == 1
        guard ok else {
            X509_free(x509)
            EVP_PKEY_free(key)
            throw WebRTCDataError(.dtls, .openSSL, "certificate", expected: "a signed self-signed certificate",
                                   found: DTLSCertificate.opensslError())
        }
        self.key = key
        self.certificate = x509
        self.fingerprint = SDPFingerprint(algorithm: "sha-256", bytes: Array(digest[0 ..< Int(length)]))
    }

    deinit {
        X509_free(certificate)
        EVP_PKEY_free(key)
    }

    /// SHA-256 fingerprint of any certificate (the peer's, during verification).
    static func fingerprint(of x509: OpaquePointer) -> SDPFingerprint? {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(x509, EVP_sha256(), &digest, &length) == 1 else { return nil }
        return SDPFingerprint(algorithm: "sha-256", bytes: Array(digest[0 ..< Int(length)]))
    }

    /// The oldest OpenSSL error on this thread's queue, as text, and clears the queue.
    static func opensslError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "no OpenSSL error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
