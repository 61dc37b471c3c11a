import COpenSSL

/// Data track E2EE (docs/WIRE.md; rust-sdks `livekit/src/room/e2ee/data_track.rs`, which hands
/// whole frames to WebRTC's `DataPacketCryptor`): AES-128-GCM over the whole frame before it is
/// packetized, the 16-byte tag appended, no additional authenticated data; key index and IV
/// travel in extension 1 of every packet of the frame.
///
/// One cryptor per local participant (encrypting its tracks) or per room subscription side
/// (decrypting); owned by one actor. Decryption failures are thrown and counted per reason.
public struct FrameCryptor: Sendable {
    public static let tagLength = 16

    /// The keys; change them at runtime with `setKey`/`setSharedKey` so the IV start is redrawn.
    public private(set) var keys: E2EEKeyProvider
    private var nextIV: InitializationVector
    public private(set) var statistics = Statistics()

    public struct Statistics: Sendable, Equatable {
        public var encryptedFrames = 0
        public var decryptedFrames = 0
        /// Frames of an encrypted track without extension 1.
        public var missingExtension = 0
        /// No key at the frame's key index (for that participant).
        public var unknownKeyIndex = 0
        /// Tag did not verify, or ciphertext shorter than the tag.
        public var authenticationFailed = 0
        public var failedFrames: Int { missingExtension + unknownKeyIndex + authenticationFailed }
    }

    public init(keys: E2EEKeyProvider) {
        self.keys = keys
        self.nextIV = Self.randomIVStart()
    }

    public mutating func setSharedKey(_ key: E2EEKey, index: UInt8) throws(DataTrackError) {
        try keys.setSharedKey(key, index: index)
        nextIV = Self.randomIVStart()
    }

    public mutating func setKey(_ key: E2EEKey, for participant: String, index: UInt8) throws(DataTrackError) {
        try keys.setKey(key, for: participant, index: index)
        nextIV = Self.randomIVStart()
    }

    // MARK: Encrypt

    /// Encrypts a frame of `participant` (the local identity) with its latest key; the result
    /// goes to `Packetizer.packetize(payload:userTimestamp:e2ee:)`.
    public mutating func encrypt(_ plaintext: [UInt8], participant: String) throws(DataTrackError)
        -> (ciphertext: [UInt8], e2ee: DataTrackPacket.E2EEExtension) {
        guard let ring = keys.ring(for: participant), let key = ring[ring.latestIndex] else {
            throw .unknownKeyIndex(keys.ring(for: participant)?.latestIndex ?? 0, participant: participant)
        }
        let iv = nextIV
        nextIV.counter &+= 1
        let ciphertext = try Self.seal(plaintext, key: key, iv: iv)
        statistics.encryptedFrames += 1
        return (ciphertext, DataTrackPacket.E2EEExtension(keyIndex: ring.latestIndex, iv: iv))
    }

    /// AES-128-GCM seal with an explicit IV: ciphertext ‖ 16-byte tag.
    static func seal(_ plaintext: [UInt8], key: E2EEKey, iv: InitializationVector) throws(DataTrackError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: plaintext.count + tagLength)
        let ivBytes = iv.bytes
        let ok = plaintext.withUnsafeBufferPointer { p in
            key.bytes.withUnsafeBufferPointer { k in
                ivBytes.withUnsafeBufferPointer { v in
                    out.withUnsafeMutableBufferPointer { o in
                        cossl_aes128gcm_seal(k.baseAddress, v.baseAddress, p.baseAddress, p.count, o.baseAddress)
                    }
                }
            }
        }
        guard ok == 1 else { throw .cryptoFailure("AES-128-GCM encrypt") }
        return out
    }

    // MARK: Decrypt

    /// Decrypts a reassembled frame published by `participant`.
    public mutating func decrypt(_ frame: DepacketizedFrame, participant: String) throws(DataTrackError) -> DataTrackFrame {
        let plaintext = try decrypt(frame.payload, e2ee: frame.e2ee, participant: participant)
        return DataTrackFrame(payload: plaintext, userTimestamp: frame.userTimestamp)
    }

    /// Decrypts `ciphertext` (with its tag) under the key and IV of `e2ee`.
    public mutating func decrypt(_ ciphertext: [UInt8], e2ee: DataTrackPacket.E2EEExtension?,
                                 participant: String) throws(DataTrackError) -> [UInt8] {
        guard let e2ee else {
            statistics.missingExtension += 1
            throw .missingE2EEExtension
        }
        guard let key = keys.key(for: participant, index: e2ee.keyIndex) else {
            statistics.unknownKeyIndex += 1
            throw .unknownKeyIndex(e2ee.keyIndex, participant: participant)
        }
        do {
            let plaintext = try Self.open(ciphertext, key: key, iv: e2ee.iv, keyIndex: e2ee.keyIndex, participant: participant)
            statistics.decryptedFrames += 1
            return plaintext
        } catch {
            switch error {
            case .authenticationFailed, .ciphertextTooShort: statistics.authenticationFailed += 1
            default: break
            }
            throw error
        }
    }

    /// AES-128-GCM open of ciphertext ‖ tag; needs no cryptor state (e.g. `export --key`).
    /// `keyIndex` and `participant` only label an authentication failure.
    public static func open(_ ciphertext: [UInt8], key: E2EEKey, iv: InitializationVector,
                            keyIndex: UInt8 = 0, participant: String = "") throws(DataTrackError) -> [UInt8] {
        guard ciphertext.count >= tagLength else { throw .ciphertextTooShort(length: ciphertext.count) }
        // One spare byte so the buffer is never empty (an empty plaintext is valid).
        var out = [UInt8](repeating: 0, count: ciphertext.count - tagLength + 1)
        let ivBytes = iv.bytes
        let result = ciphertext.withUnsafeBufferPointer { c in
            key.bytes.withUnsafeBufferPointer { k in
                ivBytes.withUnsafeBufferPointer { v in
                    out.withUnsafeMutableBufferPointer { o in
                        cossl_aes128gcm_open(k.baseAddress, v.baseAddress, c.baseAddress, c.count, o.baseAddress)
                    }
                }
            }
        }
        switch result {
        case 1:
            out.removeLast()
            return out
        case 0: throw .authenticationFailed(keyIndex: keyIndex, participant: participant)
        default: throw .cryptoFailure("AES-128-GCM decrypt")
        }
    }

    private static func randomIVStart() -> InitializationVector {
        var rng = SystemRandomNumberGenerator()
        return InitializationVector(prefix: rng.next(), counter: rng.next())
    }
}
