/// XOR-MAPPED-ADDRESS (RFC 8489 §14.2): the source address the responder saw, XORed so NATs
/// that rewrite addresses in payloads leave it alone.
/// ```
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |0 0 0 0 0 0 0 0|    Family     |         X-Port                |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                X-Address (Variable: 32 or 128 bits)
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// X-Port is the port XOR the top 16 bits of the magic cookie; an IPv4 X-Address is XOR the
/// cookie, an IPv6 one XOR the cookie followed by the transaction ID. Family 0x01 IPv4, 0x02 IPv6.
extension StunMessage {
    func xorMappedAddress() throws(WebRTCDataError) -> TransportAddress? {
        guard let attribute = attribute(.xorMappedAddress) else { return nil }
        let value = attribute.value
        guard value.count >= 4 else {
            throw WebRTCDataError(.stun, .badAttribute, at: "XOR-MAPPED-ADDRESS", "\(value.count) bytes, need at least 8")
        }
        let family = value[1]
        let expectedLength = family == 1 ? 8 : family == 2 ? 20 : -1
        guard expectedLength > 0 else {
            throw WebRTCDataError(.stun, .badAttribute, at: "XOR-MAPPED-ADDRESS", "unknown family \(family)")
        }
        guard value.count == expectedLength else {
            throw WebRTCDataError(.stun, .badAttribute, at: "XOR-MAPPED-ADDRESS",
                                  "family \(family) needs \(expectedLength) bytes, got \(value.count)")
        }
        let port = (UInt16(value[2]) << 8 | UInt16(value[3])) ^ UInt16(StunMessage.magicCookie >> 16)
        let mask = xorMask(count: expectedLength - 4)
        let raw = (0..<(expectedLength - 4)).map { value[4 + $0] ^ mask[$0] }
        guard let ip = IPAddress(bytes: raw) else {
            throw WebRTCDataError(.stun, .badAttribute, at: "XOR-MAPPED-ADDRESS")
        }
        return TransportAddress(ip: ip, port: port)
    }

    mutating func setXorMappedAddress(_ address: TransportAddress) {
        let raw = address.ip.bytes
        let mask = xorMask(count: raw.count)
        var value: [UInt8] = [0, address.ip.isIPv4 ? 1 : 2]
        append16(&value, address.port ^ UInt16(StunMessage.magicCookie >> 16))
        value += (0..<raw.count).map { raw[$0] ^ mask[$0] }
        attributes.append(StunAttribute(type: .xorMappedAddress, value: value))
    }

    /// Magic cookie, then the transaction ID (only reached for IPv6).
    private func xorMask(count: Int) -> [UInt8] {
        var mask: [UInt8] = []
        append32(&mask, StunMessage.magicCookie)
        mask += transactionID.bytes
        return Array(mask.prefix(count))
    }
}
