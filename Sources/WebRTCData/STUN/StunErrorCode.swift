/// ERROR-CODE (RFC 8489 §14.8):
/// ```
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Reserved, should be 0         |Class|     Number    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      Reason Phrase (variable)                                ..
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// Code = class × 100 + number, class 3…6, number 0…99.
struct StunErrorCode: Hashable, Sendable {
    var code: Int
    var reason: String

    static let badRequest = StunErrorCode(code: 400, reason: "Bad Request")
    static let unauthorized = StunErrorCode(code: 401, reason: "Unauthorized")
    static let unknownAttribute = StunErrorCode(code: 420, reason: "Unknown Attribute")
    /// RFC 8445 §7.3.1.1: both agents claim the same role; the loser switches.
    static let roleConflict = StunErrorCode(code: 487, reason: "Role Conflict")
}

extension StunMessage {
    func errorCode() throws(WebRTCDataError) -> StunErrorCode? {
        guard let attribute = attribute(.errorCode) else { return nil }
        let value = attribute.value
        guard value.count >= 4 else {
            throw WebRTCDataError(.stun, .badAttribute, at: "ERROR-CODE", "\(value.count) bytes, need at least 4")
        }
        let errorClass = Int(value[2] & 0x07)
        let number = Int(value[3])
        guard (3...6).contains(errorClass), number < 100 else {
            throw WebRTCDataError(.stun, .badAttribute, at: "ERROR-CODE", "class \(errorClass) number \(number) out of range")
        }
        let reason = String(validating: value[4...], as: UTF8.self) ?? ""
        return StunErrorCode(code: errorClass * 100 + number, reason: reason)
    }

    mutating func setErrorCode(_ error: StunErrorCode) {
        var value: [UInt8] = [0, 0, UInt8(error.code / 100), UInt8(error.code % 100)]
        value += Array(error.reason.utf8)
        attributes.append(StunAttribute(type: .errorCode, value: value))
    }
}
