/// The one error of the DataTracks module: what went wrong and where (byte offset, frame number,
/// key index…), so a malformed packet or a failed decryption can be reported precisely.
public enum DataTrackError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer bytes than `field` needs: it starts at `offset` and needs `needed` bytes, but the
    /// packet has only `available` left there.
    case truncated(field: String, offset: Int, needed: Int, available: Int)
    /// Packet v0: byte 0 bits 7-5 must be 0.
    case unsupportedVersion(UInt8)
    /// Packet v0: bytes 2-3 must not be 0 ("zero is not a valid track identifier").
    case invalidHandle(UInt16)
    /// An extension whose length runs past the extension block (packet v0: extensions).
    case malformedExtension(id: UInt8, offset: Int, length: Int, available: Int)
    /// The packet header alone does not fit in the transport MTU.
    case mtuTooSmall(headerLength: Int, mtu: Int)
    /// A frame needs more packets than any receiver reassembles (depacketizer limit).
    case frameTooLarge(payloadLength: Int, packets: Int, limit: Int)

    // E2EE (docs/WIRE.md).
    /// An AES-128 key must be 16 bytes; key material must not be empty.
    case invalidKey(length: Int)
    /// Key ring slots are 0..<16.
    case keyIndexOutOfRange(UInt8)
    /// A frame of an encrypted track arrived without extension 1.
    case missingE2EEExtension
    /// No key is set at this index (for this participant, in per-participant mode).
    case unknownKeyIndex(UInt8, participant: String)
    /// Shorter than the 16-byte GCM tag.
    case ciphertextTooShort(length: Int)
    /// The GCM tag did not verify: wrong key, or the frame was altered.
    case authenticationFailed(keyIndex: UInt8, participant: String)
    /// OpenSSL reported an error that is not an authentication failure.
    case cryptoFailure(String)

    public var description: String {
        switch self {
        case let .truncated(field, offset, needed, available):
            return "data track packet truncated: \(field) at byte \(offset) needs \(needed) bytes, \(available) available"
        case let .unsupportedVersion(v):
            return "data track packet version \(v) is not supported (expected 0)"
        case let .invalidHandle(h):
            return "data track packet has invalid track handle \(h) at bytes 2-3"
        case let .malformedExtension(id, offset, length, available):
            return "data track packet extension id \(id) at byte \(offset) declares \(length) bytes, \(available) left in the extension block"
        case let .mtuTooSmall(headerLength, mtu):
            return "packet header of \(headerLength) bytes leaves no room for payload in MTU \(mtu)"
        case let .frameTooLarge(payloadLength, packets, limit):
            return "frame of \(payloadLength) bytes needs \(packets) packets, receivers accept at most \(limit)"
        case let .invalidKey(length):
            return "E2EE key of \(length) bytes is invalid"
        case let .keyIndexOutOfRange(index):
            return "E2EE key index \(index) is outside the key ring (0..<\(KeyRing.size))"
        case .missingE2EEExtension:
            return "frame of an encrypted track has no E2EE extension (id 1)"
        case let .unknownKeyIndex(index, participant):
            return "no E2EE key at index \(index) for participant '\(participant)'"
        case let .ciphertextTooShort(length):
            return "ciphertext of \(length) bytes is shorter than the 16-byte GCM tag"
        case let .authenticationFailed(keyIndex, participant):
            return "E2EE authentication failed (key index \(keyIndex), participant '\(participant)')"
        case let .cryptoFailure(what):
            return "OpenSSL failure: \(what)"
        }
    }
}
