/// An E2EE frame kept as it travelled: the key index and IV of its extension 1 and the
/// ciphertext with its 16-byte GCM tag. This is how a recorder stores an encrypted track
/// without holding the key (E2EE passthrough), and how the replayer sends it back out as the
/// same encrypted frame.
///
/// Stored form (one pipeline payload, one `.tbag` frame): `key_index u8 ‖ iv[12] ‖ ciphertext ‖
/// tag[16]`, the extension's own 13 bytes first, so the payload alone is enough to decrypt
/// later (`trackbag export --key`) or to re-packetize.
public struct SealedFrame: Sendable, Hashable {
    public var e2ee: DataTrackPacket.E2EEExtension
    /// Ciphertext ‖ 16-byte tag, exactly as the publisher's cryptor produced it.
    public var ciphertext: [UInt8]

    /// Bytes before the ciphertext in the stored form.
    public static let headerLength = DataTrackPacket.E2EEExtension.length

    public init(e2ee: DataTrackPacket.E2EEExtension, ciphertext: [UInt8]) {
        self.e2ee = e2ee
        self.ciphertext = ciphertext
    }

    /// Reads the stored form. Too short for header and tag is an error naming the length; the
    /// tag itself is only checked by whoever holds the key.
    public init(stored bytes: [UInt8]) throws(DataTrackError) {
        guard bytes.count >= Self.headerLength + FrameCryptor.tagLength else {
            throw .truncated(field: "sealed E2EE frame (key index, IV, ciphertext, tag)", offset: 0,
                             needed: Self.headerLength + FrameCryptor.tagLength, available: bytes.count)
        }
        e2ee = DataTrackPacket.E2EEExtension(keyIndex: bytes[0], iv: InitializationVector(bytes[1..<Self.headerLength]))
        ciphertext = Array(bytes[Self.headerLength...])
    }

    /// The stored form.
    public var stored: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Self.headerLength + ciphertext.count)
        out.append(e2ee.keyIndex)
        out.append(contentsOf: e2ee.iv.bytes)
        out.append(contentsOf: ciphertext)
        return out
    }

    /// Decrypts with the key ring of `keys` for `participant` (a shared key serves everyone).
    public func open(with keys: E2EEKeyProvider, participant: String) throws(DataTrackError) -> [UInt8] {
        guard let key = keys.key(for: participant, index: e2ee.keyIndex) else {
            throw .unknownKeyIndex(e2ee.keyIndex, participant: participant)
        }
        return try FrameCryptor.open(ciphertext, key: key, iv: e2ee.iv, keyIndex: e2ee.keyIndex, participant: participant)
    }
}
