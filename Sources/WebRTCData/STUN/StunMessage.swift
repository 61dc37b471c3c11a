/// A STUN message (RFC 8489 §5), header and attributes, values in and bytes out.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |0 0|     STUN Message Type     |         Message Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Magic Cookie                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     Transaction ID (96 bits)                  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// Message length counts the attribute bytes after the 20-byte header, always a multiple of 4.
/// MESSAGE-INTEGRITY and FINGERPRINT are not kept in `attributes`: `encode` appends them, and
/// `StunMessage.verifyIntegrity` / `verifyFingerprint` check them on the received bytes.
struct StunMessage: Hashable, Sendable {
    static let magicCookie: UInt32 = 0x2112_A442
    static let headerLength = 20

    var method: StunMethod
    var messageClass: StunClass
    var transactionID: StunTransactionID
    var attributes: [StunAttribute]

    init(method: StunMethod = .binding, messageClass: StunClass, transactionID: StunTransactionID,
         attributes: [StunAttribute] = []) {
        self.method = method
        self.messageClass = messageClass
        self.transactionID = transactionID
        self.attributes = attributes
    }

    /// The first attribute of a type (RFC 8489 §14: a repeated attribute's later copies are ignored).
    func attribute(_ type: StunAttributeType) -> StunAttribute? {
        attributes.first { $0.type == type }
    }

    /// RFC 7983 §7: a datagram whose first byte is 0…3 is STUN. Cheap, for demultiplexing only.
    static func looksLikeStun(_ datagram: [UInt8]) -> Bool {
        datagram.count >= headerLength && datagram[0] < 4
            && datagram[4] == 0x21 && datagram[5] == 0x12 && datagram[6] == 0xA4 && datagram[7] == 0x42
    }

    /// Decodes one message from exactly one datagram. Attributes after MESSAGE-INTEGRITY other
    /// than FINGERPRINT are ignored (RFC 8489 §14.5); MESSAGE-INTEGRITY and FINGERPRINT
    /// themselves are checked by `verifyIntegrity`/`verifyFingerprint`, not here.
    static func decode(_ bytes: [UInt8]) throws(WebRTCDataError) -> StunMessage {
        guard bytes.count >= headerLength else {
            throw WebRTCDataError(.stun, .truncated, at: "byte \(bytes.count)",
                                  "header needs 20 bytes, got \(bytes.count)")
        }
        // RFC 8489 §5: the two most significant bits are zero.
        guard bytes[0] & 0xC0 == 0 else {
            throw WebRTCDataError(.stun, .notStun, at: "byte 0", "top two bits set (0x\(hex(bytes[0])))")
        }
        let type = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        let length = Int(UInt16(bytes[2]) << 8 | UInt16(bytes[3]))
        guard read32(bytes, 4) == magicCookie else {
            throw WebRTCDataError(.stun, .badMagicCookie, at: "byte 4",
                                  "expected 0x2112a442, found 0x\(String(read32(bytes, 4), radix: 16))")
        }
        guard length % 4 == 0 else {
            throw WebRTCDataError(.stun, .badLength, at: "byte 2", "message length \(length) is not a multiple of 4")
        }
        guard headerLength + length == bytes.count else {
            throw WebRTCDataError(.stun, bytes.count < headerLength + length ? .truncated : .badLength,
                                  at: "byte 2", "message length \(length) but \(bytes.count - headerLength) bytes follow the header")
        }
        var message = StunMessage(method: StunMethod(rawValue: StunClass.method(ofType: type)),
                                  messageClass: StunClass(type: type),
                                  transactionID: StunTransactionID(bytes: bytes, at: 8))
        var offset = headerLength
        var sawIntegrity = false
        while offset < bytes.count {
            guard offset + 4 <= bytes.count else {
                throw WebRTCDataError(.stun, .truncated, at: "byte \(offset)", "attribute header cut short")
            }
            let attributeType = StunAttributeType(rawValue: UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]))
            let valueLength = Int(UInt16(bytes[offset + 2]) << 8 | UInt16(bytes[offset + 3]))
            let padded = (valueLength + 3) & ~3
            guard offset + 4 + padded <= bytes.count else {
                throw WebRTCDataError(.stun, .truncated, at: "byte \(offset)",
                                      "attribute 0x\(String(attributeType.rawValue, radix: 16)) claims \(valueLength) bytes, \(bytes.count - offset - 4) remain")
            }
            switch attributeType {
            case .messageIntegrity:
                guard valueLength == 20 else {
                    throw WebRTCDataError(.stun, .badAttribute, at: "byte \(offset)", "MESSAGE-INTEGRITY must be 20 bytes, is \(valueLength)")
                }
                sawIntegrity = true
            case .fingerprint:
                guard valueLength == 4, offset + 8 == bytes.count else {
                    throw WebRTCDataError(.stun, .badAttribute, at: "byte \(offset)", "FINGERPRINT must be last and 4 bytes")
                }
            default:
                if !sawIntegrity {
                    message.attributes.append(StunAttribute(type: attributeType,
                                                            value: Array(bytes[(offset + 4)..<(offset + 4 + valueLength)])))
                }
            }
            offset += 4 + padded
        }
        return message
    }

    /// Encodes the message; with `integrityKey`, appends MESSAGE-INTEGRITY (RFC 8489 §14.5,
    /// HMAC-SHA1; for ICE the key is the peer's password, RFC 8445 §7.2.2), then FINGERPRINT
    /// when asked (§14.7; ICE always adds it, RFC 8445 §7.2.2). `padding` fills attributes to
    /// 4 bytes; RFC 8489 §14 lets it be any value (RFC 5769's vectors use 0x20).
    func encode(integrityKey: [UInt8]? = nil, fingerprint: Bool = false, padding: UInt8 = 0) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        let type = messageClass.type(method: method.rawValue)
        append16(&out, type)
        append16(&out, 0)
        append32(&out, StunMessage.magicCookie)
        out += transactionID.bytes
        for attribute in attributes {
            append16(&out, attribute.type.rawValue)
            append16(&out, UInt16(truncatingIfNeeded: attribute.value.count))
            out += attribute.value
            out += [UInt8](repeating: padding, count: (4 - attribute.value.count % 4) % 4)
        }
        if let integrityKey {
            // §14.5: the length field covers up to and including MESSAGE-INTEGRITY while hashing.
            setLength(&out, out.count - StunMessage.headerLength + 24)
            let mac = StunMessageIntegrity.hmacSHA1(key: integrityKey, data: out)
            append16(&out, StunAttributeType.messageIntegrity.rawValue)
            append16(&out, 20)
            out += mac
        }
        if fingerprint {
            setLength(&out, out.count - StunMessage.headerLength + 8)
            let crc = StunFingerprint.value(of: out[...])
            append16(&out, StunAttributeType.fingerprint.rawValue)
            append16(&out, 4)
            append32(&out, crc)
        }
        setLength(&out, out.count - StunMessage.headerLength)
        return out
    }

    private func setLength(_ out: inout [UInt8], _ length: Int) {
        out[2] = UInt8(truncatingIfNeeded: length >> 8)
        out[3] = UInt8(truncatingIfNeeded: length)
    }

    /// Finds the byte offset of the first attribute of `type` in a well-formed message, walking
    /// headers only. Nil when absent or the bytes do not walk cleanly.
    static func offset(of type: StunAttributeType, in bytes: [UInt8]) -> Int? {
        var offset = headerLength
        while offset + 4 <= bytes.count {
            let found = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            if found == type.rawValue { return offset }
            let length = Int(UInt16(bytes[offset + 2]) << 8 | UInt16(bytes[offset + 3]))
            offset += 4 + ((length + 3) & ~3)
        }
        return nil
    }
}

/// RFC 8489 §5: methods; ICE only uses Binding (0x001).
struct StunMethod: RawRepresentable, Hashable, Sendable {
    var rawValue: UInt16
    init(rawValue: UInt16) { self.rawValue = rawValue & 0x0FFF }
    static let binding = StunMethod(rawValue: 0x001)
}

/// RFC 8489 §5: the class bits C1 C0 interleaved with the method bits M11…M0:
/// `M11..M7 C1 M6..M4 C0 M3..M0`.
enum StunClass: UInt16, Hashable, Sendable {
    case request = 0b00
    case indication = 0b01
    case successResponse = 0b10
    case errorResponse = 0b11

    init(type: UInt16) {
        let c0 = (type >> 4) & 1
        let c1 = (type >> 8) & 1
        self = StunClass(rawValue: c1 << 1 | c0) ?? .request
    }

    static func method(ofType type: UInt16) -> UInt16 {
        (type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2)
    }

    func type(method: UInt16) -> UInt16 {
        let m = method & 0x0FFF
        return (m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2)
            | ((rawValue & 1) << 4) | ((rawValue & 2) << 7)
    }
}

/// The 96-bit transaction ID (RFC 8489 §5), kept as two integers so it hashes cheaply
/// (the ICE agent keys its outstanding checks by it).
struct StunTransactionID: Hashable, Sendable, CustomStringConvertible {
    var high: UInt64
    var low: UInt32

    init(high: UInt64, low: UInt32) {
        self.high = high
        self.low = low
    }

    init(bytes: [UInt8], at offset: Int) {
        var high: UInt64 = 0
        for index in 0..<8 { high = high << 8 | UInt64(bytes[offset + index]) }
        self.init(high: high, low: read32(bytes, offset + 8))
    }

    /// A fresh random ID (RFC 8489 §5: "uniformly and randomly chosen").
    static func random() -> StunTransactionID {
        var generator = SystemRandomNumberGenerator()
        return StunTransactionID(high: generator.next(), low: generator.next())
    }

    var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(12)
        for index in 0..<8 { out.append(UInt8(truncatingIfNeeded: high >> (56 - 8 * index))) }
        append32(&out, low)
        return out
    }

    var description: String { bytes.map { hex($0) }.joined() }
}

extension WebRTCDataError.Reason {
    static let truncated = Self("truncated")
    static let notStun = Self("not STUN")
    static let badMagicCookie = Self("bad magic cookie")
    static let badLength = Self("bad length")
    static let badAttribute = Self("bad attribute")
    static let integrityMissing = Self("MESSAGE-INTEGRITY missing")
    static let integrityMismatch = Self("MESSAGE-INTEGRITY mismatch")
    static let fingerprintMissing = Self("FINGERPRINT missing")
    static let fingerprintMismatch = Self("FINGERPRINT mismatch")
}

// Byte helpers shared by the STUN files (big-endian, RFC 8489 §5 "network byte order").
@inline(__always) func read32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
    UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
}
@inline(__always) func append16(_ out: inout [UInt8], _ value: UInt16) {
    out.append(UInt8(truncatingIfNeeded: value >> 8))
    out.append(UInt8(truncatingIfNeeded: value))
}
@inline(__always) func append32(_ out: inout [UInt8], _ value: UInt32) {
    out.append(UInt8(truncatingIfNeeded: value >> 24))
    out.append(UInt8(truncatingIfNeeded: value >> 16))
    out.append(UInt8(truncatingIfNeeded: value >> 8))
    out.append(UInt8(truncatingIfNeeded: value))
}
func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
}
