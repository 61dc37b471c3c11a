/// One STUN attribute in TLV form (RFC 8489 §14):
/// ```
///  0                   1                   2                   3
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Type                  |            Length             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Value (variable)                ....
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// `value` holds the unpadded bytes; encoding pads to 4 bytes with zeros.
struct StunAttribute: Hashable, Sendable {
    var type: StunAttributeType
    var value: [UInt8]
}

/// Attribute types this stack reads or writes. Unknown comprehension-optional types
/// (0x8000-0xFFFF) are kept and ignored (RFC 8489 §14).
struct StunAttributeType: RawRepresentable, Hashable, Sendable {
    var rawValue: UInt16
    init(rawValue: UInt16) { self.rawValue = rawValue }

    static let username = StunAttributeType(rawValue: 0x0006)          // RFC 8489 §14.3
    static let messageIntegrity = StunAttributeType(rawValue: 0x0008)  // §14.5
    static let errorCode = StunAttributeType(rawValue: 0x0009)         // §14.8
    static let unknownAttributes = StunAttributeType(rawValue: 0x000A) // §14.9
    static let xorMappedAddress = StunAttributeType(rawValue: 0x0020)  // §14.2
    static let priority = StunAttributeType(rawValue: 0x0024)          // RFC 8445 §16.1
    static let useCandidate = StunAttributeType(rawValue: 0x0025)      // RFC 8445 §16.1
    static let software = StunAttributeType(rawValue: 0x8022)          // §14.14
    static let fingerprint = StunAttributeType(rawValue: 0x8028)       // §14.7
    static let iceControlled = StunAttributeType(rawValue: 0x8029)     // RFC 8445 §16.1
    static let iceControlling = StunAttributeType(rawValue: 0x802A)    // RFC 8445 §16.1

    /// RFC 8489 §14: types below 0x8000 are comprehension-required.
    var isComprehensionRequired: Bool { rawValue < 0x8000 }
}

extension StunMessage {
    /// USERNAME (RFC 8489 §14.3): UTF-8, under 513 bytes. For ICE it is
    /// `<receiver ufrag>:<sender ufrag>` (RFC 8445 §7.2.2).
    func username() throws(WebRTCDataError) -> String? {
        guard let attribute = attribute(.username) else { return nil }
        guard attribute.value.count < 513 else {
            throw WebRTCDataError(.stun, .badAttribute, at: "USERNAME", "\(attribute.value.count) bytes, limit 512")
        }
        guard let text = String(validating: attribute.value, as: UTF8.self) else {
            throw WebRTCDataError(.stun, .badAttribute, at: "USERNAME", "not UTF-8")
        }
        return text
    }

    mutating func setUsername(_ username: String) {
        attributes.append(StunAttribute(type: .username, value: Array(username.utf8)))
    }

    /// SOFTWARE (RFC 8489 §14.14), informational only.
    var software: String? {
        attribute(.software).flatMap { String(validating: $0.value, as: UTF8.self) }
    }
}
