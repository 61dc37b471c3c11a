/// Checking and answering an incoming connectivity check (RFC 8445 §7.3), shared by the lite
/// and the full agent.
struct ICEBindingRequest {
    var message: StunMessage
    /// The sender's ufrag (after the colon in USERNAME).
    var remoteUfrag: String
    var priority: UInt32?
    var useCandidate: Bool
    var role: (role: ICERole, tieBreaker: UInt64)?

    /// Authenticates `bytes` (already decoded as `message`) as a request for us:
    /// FINGERPRINT (RFC 8445 §7.3: mandatory for ICE), USERNAME `<our ufrag>:<theirs>`
    /// (§7.3.1), MESSAGE-INTEGRITY with our password (§7.2.2, RFC 8489 §9.1.3).
    init(bytes: [UInt8], message: StunMessage, localUfrag: String, localPwd: [UInt8]) throws(WebRTCDataError) {
        try StunMessage.verifyFingerprint(bytes)
        guard let username = try message.username() else {
            throw WebRTCDataError(.ice, .badCredentials, at: "USERNAME", "missing")
        }
        let parts = username.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == localUfrag else {
            throw WebRTCDataError(.ice, .badCredentials, at: "USERNAME", "expected `\(localUfrag):…`, found `\(username)`")
        }
        try StunMessage.verifyIntegrity(bytes, key: localPwd)
        self.message = message
        self.remoteUfrag = String(parts[1])
        self.priority = try message.priority()
        self.useCandidate = message.useCandidate
        self.role = try message.iceRole()
    }

    /// The success response (RFC 8445 §7.3.1.3): XOR-MAPPED-ADDRESS is the source seen,
    /// signed with our password, with FINGERPRINT.
    static func successResponse(to request: StunMessage, source: TransportAddress, localPwd: [UInt8]) -> [UInt8] {
        var response = StunMessage(method: .binding, messageClass: .successResponse, transactionID: request.transactionID)
        response.setXorMappedAddress(source)
        return response.encode(integrityKey: localPwd, fingerprint: true)
    }

    /// An error response; integrity only when the request itself authenticated (RFC 8489 §6.3.4).
    static func errorResponse(to request: StunMessage, error: StunErrorCode, localPwd: [UInt8]?) -> [UInt8] {
        var response = StunMessage(method: .binding, messageClass: .errorResponse, transactionID: request.transactionID)
        response.setErrorCode(error)
        return response.encode(integrityKey: localPwd, fingerprint: true)
    }
}

extension WebRTCDataError.Reason {
    static let badCredentials = Self("bad credentials")
}
