/// One data track packet, version 0 (livekit/rust-sdks `livekit-datatrack/docs/packet-v0.md`),
/// sent as one `_data_track` data channel message. Big-endian:
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-----+-+-+-+---+---------------+-------------------------------+
/// | V=0 |S|F|X|res|   reserved    |         track handle          |
/// +-----+-+-+-+---+---------------+-------------------------------+
/// |        sequence number        |         frame number          |
/// +-------------------------------+-------------------------------+
/// |                     timestamp (90 kHz)                        |
/// +-------------------------------+-------------------------------+
/// | L (if X)                      | extensions {id u8, len u8,    |
/// +-------------------------------+ bytes}, zero padding …        |
/// |  … L field + extensions + padding = (L + 1) × 4 bytes         |
/// +---------------------------------------------------------------+
/// |                            payload                            |
/// ```
/// Extensions: id 1 E2EE (len 13: key index u8, 12-byte IV), id 2 user timestamp (len 8, u64).
/// The header is 12, 24 (user timestamp), 32 (E2EE) or 40 bytes (both).
public struct DataTrackPacket: Sendable, Equatable {
    public var header: Header
    /// The payload: a slice of the decoded buffer (no copy), or bytes to send.
    public var payload: ArraySlice<UInt8>

    public init(header: Header, payload: ArraySlice<UInt8>) {
        self.header = header
        self.payload = payload
    }

    public struct Header: Sendable, Hashable {
        public var marker: FrameMarker
        /// 1…65535; 0 is invalid (packet v0: base header).
        public var handle: UInt16
        /// Per packet, wraps.
        public var sequence: UInt16
        /// Per frame, wraps; repeated in every packet of a frame.
        public var frameNumber: UInt16
        /// 90 kHz, random base per track; the same for all packets of a frame.
        public var timestamp: UInt32
        /// Repeated in every packet of a frame.
        public var extensions: Extensions

        public init(marker: FrameMarker, handle: UInt16, sequence: UInt16, frameNumber: UInt16,
                    timestamp: UInt32, extensions: Extensions = Extensions()) {
            self.marker = marker
            self.handle = handle
            self.sequence = sequence
            self.frameNumber = frameNumber
            self.timestamp = timestamp
            self.extensions = extensions
        }

        /// Bytes this header takes on the wire: 12 plus the extension block.
        public var encodedLength: Int { DataTrackPacket.baseHeaderLength + extensions.blockLength }
    }

    /// The S and F bits (byte 0, bits 4-3): 10 start, 00 middle, 01 final, 11 single.
    public enum FrameMarker: UInt8, Sendable, Hashable {
        case inter = 0b00
        case final = 0b01
        case start = 0b10
        case single = 0b11

        /// Marker of packet `index` of a frame cut into `count` packets.
        static func of(index: Int, count: Int) -> FrameMarker {
            if count <= 1 { return .single }
            if index == 0 { return .start }
            return index == count - 1 ? .final : .inter
        }
    }

    public struct Extensions: Sendable, Hashable {
        public var e2ee: E2EEExtension?
        public var userTimestamp: UInt64?

        public init(e2ee: E2EEExtension? = nil, userTimestamp: UInt64? = nil) {
            self.e2ee = e2ee
            self.userTimestamp = userTimestamp
        }

        /// Length of the whole extension block including its u16 length field, padded to a
        /// multiple of 4 (packet v0: "(L + 1) × 4 bytes"); 0 when there is no extension.
        public var blockLength: Int {
            let content = (e2ee == nil ? 0 : 2 + E2EEExtension.length)
                + (userTimestamp == nil ? 0 : 2 + DataTrackPacket.userTimestampLength)
            if content == 0 { return 0 }
            return (2 + content + 3) / 4 * 4
        }
    }

    /// Extension 1: the frame was encrypted with the key at `keyIndex` and this IV.
    public struct E2EEExtension: Sendable, Equatable, Hashable {
        public var keyIndex: UInt8
        public var iv: InitializationVector
        public init(keyIndex: UInt8, iv: InitializationVector) {
            self.keyIndex = keyIndex
            self.iv = iv
        }
        static let id: UInt8 = 1
        static let length = 13
    }

    static let baseHeaderLength = 12
    static let userTimestampID: UInt8 = 2
    static let userTimestampLength = 8
    /// Extension id 0 is a padding byte (packet v0 follows RFC 5285 §4.2 here).
    static let paddingID: UInt8 = 0
}

// MARK: Decoding

extension DataTrackPacket {
    /// Decodes one data channel message. Every length is checked before it is read; the payload
    /// is a slice of `bytes`. Unknown extensions, and known ones longer than this version knows,
    /// are skipped (forward compatibility, as LiveKit's SDKs do); a known id shorter than its
    /// length is treated as unknown.
    public init(decoding bytes: [UInt8]) throws(DataTrackError) {
        let count = bytes.count
        guard count >= Self.baseHeaderLength else {
            throw .truncated(field: "base header", offset: 0, needed: Self.baseHeaderLength, available: count)
        }
        let first = bytes[0]
        let version = first >> 5
        guard version == 0 else { throw .unsupportedVersion(version) }
        // Bits 1-0 of byte 0 and all of byte 1 are reserved: ignored on receipt.
        let marker = FrameMarker(rawValue: (first >> 3) & 0b11) ?? .inter
        let hasExtensions = (first >> 2) & 1 == 1
        let handle = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
        guard handle != 0 else { throw .invalidHandle(handle) }
        var header = Header(
            marker: marker, handle: handle,
            sequence: UInt16(bytes[4]) << 8 | UInt16(bytes[5]),
            frameNumber: UInt16(bytes[6]) << 8 | UInt16(bytes[7]),
            timestamp: UInt32(bytes[8]) << 24 | UInt32(bytes[9]) << 16 | UInt32(bytes[10]) << 8 | UInt32(bytes[11]))
        var payloadStart = Self.baseHeaderLength
        if hasExtensions {
            guard count >= 14 else {
                throw .truncated(field: "extension length", offset: 12, needed: 2, available: count - 12)
            }
            let words = Int(UInt16(bytes[12]) << 8 | UInt16(bytes[13]))
            let blockEnd = 12 + (words + 1) * 4
            guard blockEnd <= count else {
                throw .truncated(field: "extension block", offset: 12, needed: (words + 1) * 4, available: count - 12)
            }
            header.extensions = try Self.decodeExtensions(bytes, from: 14, to: blockEnd)
            payloadStart = blockEnd
        }
        self.init(header: header, payload: bytes[payloadStart...])
    }

    private static func decodeExtensions(_ bytes: [UInt8], from start: Int, to end: Int) throws(DataTrackError) -> Extensions {
        var extensions = Extensions()
        var offset = start
        while offset < end {
            let id = bytes[offset]
            if id == paddingID {
                offset += 1
                continue
            }
            guard offset + 2 <= end else {
                throw .malformedExtension(id: id, offset: offset, length: 0, available: end - offset - 1)
            }
            let length = Int(bytes[offset + 1])
            let body = offset + 2
            guard body + length <= end else {
                throw .malformedExtension(id: id, offset: offset, length: length, available: end - body)
            }
            switch id {
            case E2EEExtension.id where length >= E2EEExtension.length:
                extensions.e2ee = E2EEExtension(
                    keyIndex: bytes[body],
                    iv: InitializationVector(bytes[(body + 1)..<(body + 13)]))
            case userTimestampID where length >= userTimestampLength:
                var value: UInt64 = 0
                for i in body..<(body + 8) { value = value << 8 | UInt64(bytes[i]) }
                extensions.userTimestamp = value
            default:
                break  // unknown, or shorter than this version knows: skipped
            }
            offset = body + length
        }
        return extensions
    }

    /// The track handle (bytes 2-3) without decoding the rest: what a forwarding server needs.
    public static func handle(of bytes: [UInt8]) throws(DataTrackError) -> UInt16 {
        guard bytes.count >= baseHeaderLength else {
            throw .truncated(field: "base header", offset: 0, needed: baseHeaderLength, available: bytes.count)
        }
        let handle = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
        guard handle != 0 else { throw .invalidHandle(handle) }
        return handle
    }

    /// Rewrites the track handle in place (bytes 2-3) and nothing else: the server forwards a
    /// publisher's packet to each subscriber under that subscriber's handle (docs/WIRE.md).
    public static func rewriteHandle(in bytes: inout [UInt8], to handle: UInt16) throws(DataTrackError) {
        guard bytes.count >= baseHeaderLength else {
            throw .truncated(field: "base header", offset: 0, needed: baseHeaderLength, available: bytes.count)
        }
        guard handle != 0 else { throw .invalidHandle(handle) }
        bytes[2] = UInt8(truncatingIfNeeded: handle >> 8)
        bytes[3] = UInt8(truncatingIfNeeded: handle)
    }
}

// MARK: Encoding

extension DataTrackPacket {
    /// The packet as sent: header, extensions in the SDK's order (E2EE, then user timestamp),
    /// zero padding to a 4-byte boundary, payload.
    public func encoded() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(header.encodedLength + payload.count)
        header.encode(into: &out)
        out.append(contentsOf: payload)
        return out
    }
}

extension DataTrackPacket.Header {
    /// Appends this header to `out`.
    public func encode(into out: inout [UInt8]) {
        let block = extensions.blockLength
        // Version 0 in bits 7-5; reserved bits stay 0.
        out.append(marker.rawValue << 3 | (block > 0 ? 1 << 2 : 0))
        out.append(0)
        out.appendBigEndian(handle)
        out.appendBigEndian(sequence)
        out.appendBigEndian(frameNumber)
        out.appendBigEndian(timestamp)
        guard block > 0 else { return }
        let blockStart = out.count
        out.appendBigEndian(UInt16(block / 4 - 1))
        if let e2ee = extensions.e2ee {
            out.append(DataTrackPacket.E2EEExtension.id)
            out.append(UInt8(DataTrackPacket.E2EEExtension.length))
            out.append(e2ee.keyIndex)
            out.appendBigEndian(e2ee.iv.prefix)
            out.appendBigEndian(e2ee.iv.counter)
        }
        if let userTimestamp = extensions.userTimestamp {
            out.append(DataTrackPacket.userTimestampID)
            out.append(UInt8(DataTrackPacket.userTimestampLength))
            out.appendBigEndian(userTimestamp)
        }
        while out.count - blockStart < block { out.append(0) }
    }
}

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        var shift = T.bitWidth - 8
        while shift >= 0 {
            append(UInt8(truncatingIfNeeded: value >> shift))
            shift -= 8
        }
    }
}
