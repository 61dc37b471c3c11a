/// What an application pushes to, and receives from, a data track: the payload and an optional
/// 64-bit user timestamp (extension 2) whose unit is the publisher's business.
public struct DataTrackFrame: Sendable, Hashable {
    public var payload: [UInt8]
    public var userTimestamp: UInt64?
    /// Set when `payload` is E2EE ciphertext (with its tag) that nobody here decrypted: a
    /// subscription in E2EE passthrough mode delivers frames so, and a frame pushed with it is
    /// sent as is (already encrypted by whoever published it first).
    public var e2ee: DataTrackPacket.E2EEExtension?

    public init(payload: [UInt8], userTimestamp: UInt64? = nil, e2ee: DataTrackPacket.E2EEExtension? = nil) {
        self.payload = payload
        self.userTimestamp = userTimestamp
        self.e2ee = e2ee
    }

    /// A passthrough frame: ciphertext and its extension from a stored `SealedFrame`.
    public init(sealed: SealedFrame, userTimestamp: UInt64?) {
        self.init(payload: sealed.ciphertext, userTimestamp: userTimestamp, e2ee: sealed.e2ee)
    }

    /// The stored form of a passthrough frame; nil for plaintext.
    public var sealed: SealedFrame? {
        e2ee.map { SealedFrame(e2ee: $0, ciphertext: payload) }
    }
}

/// A frame as the depacketizer reassembled it: payload (ciphertext on an encrypted track) and
/// the header fields of its first packet, which every packet of the frame repeats.
public struct DepacketizedFrame: Sendable, Equatable {
    public var payload: [UInt8]
    public var userTimestamp: UInt64?
    /// Present when the publisher encrypted the frame: decrypt with `FrameCryptor`, or store it
    /// as is (E2EE passthrough recording).
    public var e2ee: DataTrackPacket.E2EEExtension?
    public var frameNumber: UInt16
    /// 90 kHz media timestamp.
    public var timestamp: UInt32
    /// How many packets carried it.
    public var packetCount: Int
}
