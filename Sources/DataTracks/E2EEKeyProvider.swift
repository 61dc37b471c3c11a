import COpenSSL

/// A 128-bit AES-GCM key, derived once when set (never per frame).
public struct E2EEKey: Sendable, Equatable {
    public let bytes: [UInt8]

    /// LiveKit's key derivation (rust-sdks `livekit/src/room/e2ee/key_provider.rs` defaults;
    /// the SDK captures decrypt only with it): PBKDF2-HMAC-SHA256 over the key material,
    /// salt `LKFrameEncryptionKey`, 100,000 iterations, 128-bit output.
    public static let salt = Array("LKFrameEncryptionKey".utf8)
    public static let iterations: UInt32 = 100_000

    /// An AES-128 key used as is (for example one already derived and stored).
    public init(aesKey: [UInt8]) throws(DataTrackError) {
        guard aesKey.count == 16 else { throw .invalidKey(length: aesKey.count) }
        bytes = aesKey
    }

    /// Derives the AES key from key material the way LiveKit's SDKs do: raw shared-key bytes,
    /// or a passphrase's UTF-8 bytes (the SDKs treat both as the same material).
    public init(deriving material: [UInt8], salt: [UInt8] = E2EEKey.salt,
                iterations: UInt32 = E2EEKey.iterations) throws(DataTrackError) {
        guard !material.isEmpty else { throw .invalidKey(length: 0) }
        var out = [UInt8](repeating: 0, count: 16)
        let ok = material.withUnsafeBufferPointer { m in
            salt.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { o in
                    cossl_pbkdf2_sha256(m.baseAddress, m.count, s.baseAddress, s.count, iterations, o.baseAddress, 16)
                }
            }
        }
        guard ok == 1 else { throw .cryptoFailure("PBKDF2-HMAC-SHA256") }
        bytes = out
    }

    public init(passphrase: String) throws(DataTrackError) {
        try self.init(deriving: Array(passphrase.utf8))
    }
}

/// Sixteen key slots addressed by the key index of extension 1, so keys can rotate while frames
/// under the previous key are still in flight; `latestIndex` is the one used to encrypt.
public struct KeyRing: Sendable, Equatable {
    public static let size = 16
    private var slots = [E2EEKey?](repeating: nil, count: KeyRing.size)
    public private(set) var latestIndex: UInt8 = 0

    public init() {}

    public subscript(index: UInt8) -> E2EEKey? {
        Int(index) < Self.size ? slots[Int(index)] : nil
    }

    /// Sets the key at `index` and makes it the one used for encryption.
    public mutating func set(_ key: E2EEKey, at index: UInt8) throws(DataTrackError) {
        guard Int(index) < Self.size else { throw .keyIndexOutOfRange(index) }
        slots[Int(index)] = key
        latestIndex = index
    }
}

/// Where a cryptor finds keys: one shared key ring for the whole room (LiveKit's "shared key"
/// mode), or a key ring per participant identity. A value owned by whoever owns the cryptors
/// (one actor per room); setting a key at runtime is a mutation there.
public struct E2EEKeyProvider: Sendable, Equatable {
    public enum Mode: Sendable, Equatable { case shared, perParticipant }

    public let mode: Mode
    private var sharedRing = KeyRing()
    private var rings: [String: KeyRing] = [:]

    /// Per-participant mode with no keys yet.
    public init() { mode = .perParticipant }

    /// Shared mode with `material` (raw key bytes) derived into key index 0, as the SDK's
    /// `KeyProviderOptions(shared_key: …)` does.
    public init(sharedKey material: [UInt8]) throws(DataTrackError) {
        mode = .shared
        try sharedRing.set(E2EEKey(deriving: material), at: 0)
    }

    public init(sharedPassphrase: String) throws(DataTrackError) {
        try self.init(sharedKey: Array(sharedPassphrase.utf8))
    }

    /// Shared mode starting from an already derived key (e.g. `export --key` with a stored key).
    public init(sharedKey key: E2EEKey, index: UInt8 = 0) throws(DataTrackError) {
        mode = .shared
        try sharedRing.set(key, at: index)
    }

    /// Sets the shared key at `index` (deriving once) and encrypts with it from now on.
    public mutating func setSharedKey(_ key: E2EEKey, index: UInt8) throws(DataTrackError) {
        try sharedRing.set(key, at: index)
    }

    /// Sets `participant`'s key at `index`. In shared mode every participant uses the shared
    /// ring, so this sets the shared key.
    public mutating func setKey(_ key: E2EEKey, for participant: String, index: UInt8) throws(DataTrackError) {
        switch mode {
        case .shared: try sharedRing.set(key, at: index)
        case .perParticipant: try rings[participant, default: KeyRing()].set(key, at: index)
        }
    }

    public func ring(for participant: String) -> KeyRing? {
        mode == .shared ? sharedRing : rings[participant]
    }

    public func key(for participant: String, index: UInt8) -> E2EEKey? {
        ring(for: participant)?[index]
    }
}
