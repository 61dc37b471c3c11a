/// What an application pushes to, and receives from, a data track: the payload and an optional
/// 64-bit user timestamp (extension 2) whose unit is the publisher's business.
public struct DataTrackFrame: Sendable, Hashable {
    public var payload: [UInt8]
    public var userTimestamp: UInt64?

    public init(payload: [UInt8], userTimestamp: UInt64? = nil) {
        self.payload = payload
        self.userTimestamp = userTimestamp
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
