// Reasons the data-channel half of the stack (DTLS, SCTP, DCEP, channels) adds to the module's
// one error type, and the shape its errors take: what was read or done, expected vs found, and
// the byte offset when the error is about a wire message.

extension WebRTCDataError.Reason {
    static let tooLong = Self("too long")
    static let openSSL = Self("OpenSSL failure")
    static let handshakeFailed = Self("DTLS handshake failed")
    static let certificateMismatch = Self("certificate does not match the SDP fingerprint")
    static let notConnected = Self("not connected")
    static let usrsctp = Self("usrsctp failure")
    static let notOpen = Self("channel not open")
    static let streamInUse = Self("stream id in use")
    static let timeout = Self("timeout")
    /// `send` found the association's send queue at its limit (`DataChannelLimits.outboundBytes`).
    public static let sendBufferFull = Self("send buffer full")
}

extension WebRTCDataError {
    init(_ layer: Layer, _ reason: Reason, _ what: String, expected: String, found: String, offset: Int? = nil) {
        self.init(layer, reason, at: offset.map { "byte \($0)" }, "\(what): expected \(expected), found \(found)")
    }
}
