import COpenSSL

/// Which end of the DTLS handshake this peer plays (RFC 5763 §5: `a=setup:active` is the client).
public enum DTLSRole: Sendable, Equatable {
    case client
    case server
}

/// What the owner of a `DTLSConnection` must do after feeding it.
enum DTLSAction: Sendable, Equatable {
    /// Send this datagram to the peer (one or more whole records, at most `mtu` bytes).
    case send([UInt8])
    /// Application data (here: one SCTP packet) arrived.
    case deliver([UInt8])
    /// The handshake finished and the peer's certificate matched the SDP fingerprint.
    case handshakeComplete
    /// The peer sent close_notify (RFC 5246 §7.2.1).
    case closed
    /// The connection cannot continue.
    case failed(WebRTCDataError)
}

/// DTLS 1.2 over OpenSSL with memory BIOs: bytes in, actions out, no sockets (RFC 6347).
///
/// Not thread-safe: one actor owns it and calls it serially (OpenSSL's SSL object and its
/// thread-local error queue are both cleared around every call, so the actor may hop threads).
/// The peer is authenticated by comparing its certificate's SHA-256 with the fingerprint from
/// the remote SDP (RFC 8122 §5), inside OpenSSL's verify callback so a mismatch aborts the
/// handshake with an alert.
final class DTLSConnection {
    enum State: Sendable, Equatable { case idle, handshaking, connected, closed, failed }

    let role: DTLSRole
    /// RFC 8261 §5: a safe datagram size for DTLS over UDP without PMTU discovery.
    let mtu: Int
    private(set) var state: State = .idle
    /// Datagrams that were not a run of well-formed DTLS records and were dropped unread.
    private(set) var rejectedDatagrams = 0
    /// The certificate fingerprint the peer presented, once verified.
    private(set) var peerFingerprint: SDPFingerprint?

    private let context: OpaquePointer
    private let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer
    private let expectation: FingerprintExpectation
    private var readBuffer = [UInt8](repeating: 0, count: 1 << 16)

    init(role: DTLSRole, certificate: DTLSCertificate, remoteFingerprint: SDPFingerprint,
         mtu: Int = 1200) throws(WebRTCDataError) {
        guard remoteFingerprint.algorithm == "sha-256" else {
            throw WebRTCDataError(.dtls, .certificateMismatch, "remote fingerprint hash", expected: "sha-256", found: remoteFingerprint.algorithm)
        }
        ERR_clear_error()
        guard let context = SSL_CTX_new(DTLS_method()) else {
            throw WebRTCDataError(.dtls, .openSSL, "SSL_CTX_new", expected: "a DTLS context", found: DTLSCertificate.opensslError())
        }
        // RFC 8827 §6.5: DTLS 1.2 or later; ECDHE with P-256 (and X25519) is what browsers offer.
        var ok = SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(DTLS1_2_VERSION), nil) == 1
        ok = ok && SSL_CTX_use_certificate(context, certificate.certificate) == 1
        ok = ok && SSL_CTX_use_PrivateKey(context, certificate.key) == 1
        ok = ok && SSL_CTX_check_private_key(context) == 1
        ok = ok && cossl_ctx_set1_groups_list(context, "X25519:P-256") == 1
        ok = ok && SSL_CTX_set_cipher_list(context, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA") == 1
        // use_srtp (RFC 5764) carries no data here, but aiortc fails a handshake that did not
        // negotiate an SRTP profile and libwebrtc always offers one, so we offer the usual two.
        // (This call returns 0 on success.)
        ok = ok && SSL_CTX_set_tlsext_use_srtp(context, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") == 0
        // Both ends must present a certificate (RFC 8827 §6.5), so the server asks for one.
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verifyPeerCertificate)
        guard ok, let ssl = SSL_new(context) else {
            let reason = DTLSCertificate.opensslError()
            SSL_CTX_free(context)
            throw WebRTCDataError(.dtls, .openSSL, "SSL setup", expected: "a configured DTLS session", found: reason)
        }
        guard let readBIO = BIO_new(BIO_s_mem()), let writeBIO = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            SSL_CTX_free(context)
            throw WebRTCDataError(.dtls, .openSSL, "BIO_new", expected: "memory BIOs", found: DTLSCertificate.opensslError())
        }
        // An empty read BIO means "no datagram yet", not end of stream.
        _ = cossl_bio_set_mem_eof_return(readBIO, -1)
        _ = cossl_bio_set_mem_eof_return(writeBIO, -1)
        SSL_set_bio(ssl, readBIO, writeBIO)
        _ = cossl_ssl_set_mtu(ssl, mtu)
        // A lost flight costs 400 ms instead of OpenSSL's 1 s (RFC 9147 §5.8.2), and the backoff
        // stops at 3 s (`flightTimeout(after:)`): on a link that loses a fifth of its datagrams,
        // setup otherwise waits 1 + 2 + 4 + 8 s for an unlucky flight.
        cossl_dtls_use_realtime_timer(ssl)
        let expectation = FingerprintExpectation(remoteFingerprint)
        SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(expectation).toOpaque())
        switch role {
        case .client: SSL_set_connect_state(ssl)
        case .server: SSL_set_accept_state(ssl)
        }
        self.role = role
        self.mtu = mtu
        self.context = context
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        self.expectation = expectation
    }

    deinit {
        SSL_free(ssl) // frees both BIOs
        SSL_CTX_free(context)
    }

    /// Starts the handshake: the client sends its ClientHello, the server waits for it.
    func start() -> [DTLSAction] {
        guard state == .idle else { return [] }
        state = .handshaking
        var actions: [DTLSAction] = []
        if role == .client { driveHandshake(into: &actions) }
        return actions
    }

    /// Handles one datagram from the peer (already demultiplexed as DTLS, RFC 7983).
    func feed(_ datagram: some RandomAccessCollection<UInt8>) -> [DTLSAction] {
        switch state {
        case .closed, .failed: return []
        case .idle: state = .handshaking
        case .handshaking, .connected: break
        }
        do {
            _ = try DTLSRecordHeader.records(in: datagram)
        } catch {
            rejectedDatagrams += 1
            return []
        }
        let bytes = Array(datagram)
        _ = bytes.withUnsafeBytes { BIO_write(readBIO, $0.baseAddress, Int32($0.count)) }
        var actions: [DTLSAction] = []
        if state == .handshaking {
            driveHandshake(into: &actions)
        }
        if state == .connected {
            readApplicationData(into: &actions)
        }
        // A datagram OpenSSL could not use (bad MAC, stale epoch) is dropped silently by it
        // (RFC 6347 §4.1.2.7); what remains in the read BIO is discarded so it cannot be misread
        // as the start of the next datagram.
        let leftover = cossl_bio_pending(readBIO)
        if leftover > 0 {
            _ = BIO_ctrl(readBIO, BIO_CTRL_RESET, 0, nil)
        }
        return actions
    }

    /// Encrypts application data (one SCTP packet) into datagrams.
    func write(_ data: [UInt8]) throws(WebRTCDataError) -> [DTLSAction] {
        guard state == .connected else {
            throw WebRTCDataError(.dtls, .openSSL, "write", expected: "a connected session", found: "\(state)")
        }
        ERR_clear_error()
        let result: Int32 = data.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
        guard result > 0 else {
            let error = SSL_get_error(ssl, result)
            throw WebRTCDataError(.dtls, .openSSL, "SSL_write", expected: "data written",
                                   found: "error \(error): \(DTLSCertificate.opensslError())")
        }
        var actions: [DTLSAction] = []
        drainOutput(into: &actions)
        return actions
    }

    /// Time until the handshake retransmission timer fires (RFC 6347 §4.2.4), nil when none runs.
    var nextTimeout: Duration? {
        guard state == .handshaking else { return nil }
        let ms = cossl_dtls_get_timeout_ms(ssl)
        return ms < 0 ? nil : .milliseconds(ms)
    }

    /// Retransmits the last flight if its timer expired; fails after OpenSSL gives up.
    func handleTimeout() -> [DTLSAction] {
        guard state == .handshaking else { return [] }
        ERR_clear_error()
        var actions: [DTLSAction] = []
        if cossl_dtls_handle_timeout(ssl) < 0 {
            fail(WebRTCDataError(.dtls, .handshakeFailed, "handshake", expected: "a reply before the retransmission limit",
                                  found: "timeout: \(DTLSCertificate.opensslError())"), into: &actions)
            return actions
        }
        drainOutput(into: &actions)
        return actions
    }

    /// Sends close_notify (RFC 5246 §7.2.1) and stops.
    func close() -> [DTLSAction] {
        guard state == .connected || state == .handshaking else { return [] }
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        var actions: [DTLSAction] = []
        drainOutput(into: &actions)
        state = .closed
        ERR_clear_error()
        return actions
    }

    // MARK: - Internals

    private func driveHandshake(into actions: inout [DTLSAction]) {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            drainOutput(into: &actions)
            // Re-check after the fact: OpenSSL calls the verify callback only if a certificate
            // came, and SSL_VERIFY_FAIL_IF_NO_PEER_CERT guards only the server side.
            guard let peer = SSL_get1_peer_certificate(ssl) else {
                fail(WebRTCDataError(.dtls, .certificateMismatch, "peer certificate", expected: "a certificate", found: "none"), into: &actions)
                return
            }
            let fingerprint = DTLSCertificate.fingerprint(of: peer)
            X509_free(peer)
            guard let fingerprint, fingerprint == expectation.fingerprint else {
                fail(WebRTCDataError(.dtls, .certificateMismatch, "peer certificate fingerprint", expected: expectation.fingerprint.description,
                                      found: fingerprint?.description ?? "none"), into: &actions)
                return
            }
            peerFingerprint = fingerprint
            state = .connected
            actions.append(.handshakeComplete)
            return
        }
        let error = SSL_get_error(ssl, result)
        drainOutput(into: &actions)
        if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { return }
        let reason = expectation.mismatch.map { "certificate fingerprint \($0)" } ?? DTLSCertificate.opensslError()
        fail(WebRTCDataError(.dtls, .handshakeFailed, "handshake", expected: "a completed handshake",
                              found: "error \(error): \(reason)"), into: &actions)
    }

    private func readApplicationData(into actions: inout [DTLSAction]) {
        while true {
            ERR_clear_error()
            let count = readBuffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if count > 0 {
                actions.append(.deliver(Array(readBuffer[0 ..< Int(count)])))
                continue
            }
            let error = SSL_get_error(ssl, count)
            switch error {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                drainOutput(into: &actions)
            case SSL_ERROR_ZERO_RETURN:
                drainOutput(into: &actions)
                state = .closed
                actions.append(.closed)
            default:
                fail(WebRTCDataError(.dtls, .openSSL, "SSL_read", expected: "application data",
                                      found: "error \(error): \(DTLSCertificate.opensslError())"), into: &actions)
            }
            return
        }
    }

    private func fail(_ error: WebRTCDataError, into actions: inout [DTLSAction]) {
        drainOutput(into: &actions) // lets a fatal alert reach the peer
        state = .failed
        ERR_clear_error()
        actions.append(.failed(error))
    }

    /// Moves whatever OpenSSL wrote into datagrams of whole records no larger than `mtu`.
    private func drainOutput(into actions: inout [DTLSAction]) {
        let pending = cossl_bio_pending(writeBIO)
        guard pending > 0 else { return }
        var output = [UInt8](repeating: 0, count: Int(pending))
        let read = output.withUnsafeMutableBytes { BIO_read(writeBIO, $0.baseAddress, Int32($0.count)) }
        guard read > 0 else { return }
        if Int(read) < output.count { output.removeLast(output.count - Int(read)) }
        // OpenSSL writes each record separately into the BIO; records are repacked so a flight
        // goes out in as few datagrams as the MTU allows (RFC 6347 §4.1.1).
        guard let ranges = try? DTLSRecordHeader.records(in: output) else {
            actions.append(.send(output))
            return
        }
        var datagram: [UInt8] = []
        for range in ranges {
            if !datagram.isEmpty, datagram.count + range.count > mtu {
                actions.append(.send(datagram))
                datagram = []
            }
            datagram += output[range]
        }
        if !datagram.isEmpty { actions.append(.send(datagram)) }
    }
}

/// The fingerprint the peer's certificate must have, shared with OpenSSL's verify callback
/// through the SSL object's ex-data slot 0. Owned by its `DTLSConnection`, which outlives the SSL.
private final class FingerprintExpectation {
    let fingerprint: SDPFingerprint
    var mismatch: String?
    init(_ fingerprint: SDPFingerprint) { self.fingerprint = fingerprint }
}

/// OpenSSL verify callback: WebRTC certificates are self-signed, so chain errors are ignored
/// and the leaf certificate is judged by its fingerprint alone (RFC 8122 §5, RFC 8827 §6.5).
private let verifyPeerCertificate: @convention(c) (Int32, OpaquePointer?) -> Int32 = { _, store in
    guard let store else { return 0 }
    guard X509_STORE_CTX_get_error_depth(store) == 0 else { return 1 }
    guard let sslPointer = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()),
          let expectationPointer = SSL_get_ex_data(OpaquePointer(sslPointer), 0),
          let certificate = X509_STORE_CTX_get_current_cert(store) else { return 0 }
    let expectation = Unmanaged<FingerprintExpectation>.fromOpaque(expectationPointer).takeUnretainedValue()
    guard let fingerprint = DTLSCertificate.fingerprint(of: certificate) else { return 0 }
    if fingerprint == expectation.fingerprint { return 1 }
    expectation.mismatch = "\(fingerprint) differs from the SDP's \(expectation.fingerprint)"
    return 0
}

extension DTLSConnection {
    /// A handshake flight's retransmission timeout after one of `previous` expired (nil: the
    /// flight's first): 400 ms, doubled at each expiry, at most 3 s (COpenSSL.h says why).
    static func flightTimeout(after previous: Duration?) -> Duration {
        let previousUs = previous.map { UInt32(clamping: $0.components.seconds * 1_000_000 + $0.components.attoseconds / 1_000_000_000_000) } ?? 0
        return .microseconds(Int64(cossl_dtls_next_timer_us(previousUs)))
    }
}
