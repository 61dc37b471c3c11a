/// Cuts frames of one published track into packet v0 packets, as LiveKit's SDKs do
/// (livekit/rust-sdks `livekit-datatrack/src/local/packetizer.rs`, client-sdk-js
/// `data-track/packetizer.ts`, and the captures in `testvectors/livekit-python-1.2.1/`):
///
/// - every packet of a frame repeats its frame number, timestamp and extensions, so the header
///   size is the same for all of them and each packet carries at most `mtu - header` payload
///   bytes: all packets but the last are full, the last holds the rest (the captures show this:
///   a 40,000-byte frame with a 24-byte header goes as 15,976 + 15,976 + 8,048);
/// - serialized packets are at most `mtu` bytes (16,000 for the data channel);
/// - sequence numbers (per packet) and frame numbers (per frame) start at 0 and wrap;
/// - the timestamp is the track's 90 kHz `MediaClock` when the frame is packetized.
///
/// One difference from the SDKs: an empty payload goes out as one empty `single` packet (the
/// SDKs send nothing for it), so an empty frame is delivered rather than silently lost; their
/// depacketizers accept such a packet.
public struct Packetizer: Sendable {
    /// Largest serialized packet (rust-sdks `local/pipeline.rs` `TRANSPORT_MTU`).
    public static let transportMTU = 16_000

    public let handle: UInt16
    public let mtu: Int
    public private(set) var nextSequence: UInt16
    public private(set) var nextFrameNumber: UInt16
    public private(set) var clock: MediaClock

    public init(handle: UInt16, mtu: Int = Packetizer.transportMTU, firstSequence: UInt16 = 0,
                firstFrameNumber: UInt16 = 0, clock: MediaClock = MediaClock()) throws(DataTrackError) {
        guard handle != 0 else { throw .invalidHandle(handle) }
        self.handle = handle
        self.mtu = mtu
        self.nextSequence = firstSequence
        self.nextFrameNumber = firstFrameNumber
        self.clock = clock
    }

    /// Packets of one frame. `e2ee` is set when `payload` is ciphertext from `FrameCryptor`.
    /// `timestamp` overrides the clock (replay, tests). Throws when the header leaves no room in
    /// the MTU or the frame would need more packets than receivers reassemble; nothing is
    /// consumed then.
    public mutating func packetize(payload: [UInt8], userTimestamp: UInt64? = nil,
                                   e2ee: DataTrackPacket.E2EEExtension? = nil,
                                   timestamp: UInt32? = nil) throws(DataTrackError) -> [DataTrackPacket] {
        let extensions = DataTrackPacket.Extensions(e2ee: e2ee, userTimestamp: userTimestamp)
        let headerLength = DataTrackPacket.baseHeaderLength + extensions.blockLength
        let chunk = mtu - headerLength
        guard chunk > 0 else { throw .mtuTooSmall(headerLength: headerLength, mtu: mtu) }
        let count = max(1, (payload.count + chunk - 1) / chunk)
        guard count <= Depacketizer.maxPacketsPerFrame else {
            throw .frameTooLarge(payloadLength: payload.count, packets: count, limit: Depacketizer.maxPacketsPerFrame)
        }
        var header = DataTrackPacket.Header(
            marker: .single, handle: handle, sequence: 0, frameNumber: nextFrameNumber,
            timestamp: timestamp ?? clock.now(), extensions: extensions)
        nextFrameNumber &+= 1
        var packets = [DataTrackPacket]()
        packets.reserveCapacity(count)
        for index in 0..<count {
            let start = index * chunk
            let end = min(start + chunk, payload.count)
            header.marker = .of(index: index, count: count)
            header.sequence = nextSequence
            nextSequence &+= 1
            packets.append(DataTrackPacket(header: header, payload: payload[start..<end]))
        }
        return packets
    }

    /// Packets of one frame, serialized: one data channel message each.
    public mutating func packetizeEncoded(payload: [UInt8], userTimestamp: UInt64? = nil,
                                          e2ee: DataTrackPacket.E2EEExtension? = nil,
                                          timestamp: UInt32? = nil) throws(DataTrackError) -> [[UInt8]] {
        try packetize(payload: payload, userTimestamp: userTimestamp, e2ee: e2ee, timestamp: timestamp)
            .map { $0.encoded() }
    }
}
