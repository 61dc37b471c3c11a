/// The chunk body codec (schemas/recording-format.md, "Chunk body"): a run of frame records of
/// one track, each
///
/// ```
/// time_delta   varint   zigzag(receive_time_ns - previous receive_time_ns); previous = 0 for
///                       the first record, so a chunk decodes on its own
/// flags        u8       bit 0: a user timestamp follows; bits 1-7 must be 0 in version 1
/// user_ts      u64 LE   only when flags bit 0 is set; stored untouched
/// length       varint   payload length in bytes (0 allowed)
/// payload      bytes
/// ```
///
/// Pure values in, values out: the writer appends into one reusable buffer per track, the reader
/// decodes from a decompressed buffer without copying until a payload is handed out.
struct ChunkEncoder {
    static let flagUserTimestamp: UInt8 = 0x01
    /// Most bytes a record adds besides its payload: two varints, flags, user timestamp.
    static let maxRecordOverhead = Varint.maxLength * 2 + 1 + 8

    /// Backing store, kept at its full allocated size; `count` bytes are the body. Writing
    /// through one unsafe pointer per record (not `append` per byte) is what lets the writer
    /// keep up with zstd.
    private var storage: [UInt8]
    private(set) var count = 0
    private(set) var frameCount = 0
    /// Earliest and latest receive time in the chunk (frames may arrive out of order).
    private(set) var startNs: Int64 = .max
    private(set) var endNs: Int64 = .min
    private var previousNs: Int64 = 0

    init(reservingCapacity capacity: Int = 0) {
        storage = [UInt8](repeating: 0, count: max(capacity, 64))
    }

    var isEmpty: Bool { frameCount == 0 }

    /// The encoded records so far (a copy; the writer uses `withBody`).
    var bytes: [UInt8] { Array(storage[0..<count]) }
    var capacity: Int { storage.count }

    func withBody<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    @inline(__always)
    mutating func append(receiveTimeNs: Int64, userTimestamp: UInt64?, payload: UnsafeRawBufferPointer) {
        let needed = Self.maxRecordOverhead + payload.count
        if count + needed > storage.count {
            storage.append(contentsOf: repeatElement(0, count: max(storage.count, count + needed - storage.count)))
        }
        // Wrapping arithmetic: any two Int64 times have a delta that round-trips modulo 2^64.
        let delta = Varint.zigzag(receiveTimeNs &- previousNs)
        let at = count
        count = storage.withUnsafeMutableBytes { buf -> Int in
            var i = at
            Varint.write(delta, to: buf, at: &i)
            if let ts = userTimestamp {
                buf[i] = Self.flagUserTimestamp
                buf.storeBytes(of: ts.littleEndian, toByteOffset: i + 1, as: UInt64.self)
                i += 9
            } else {
                buf[i] = 0
                i += 1
            }
            Varint.write(UInt64(payload.count), to: buf, at: &i)
            if payload.count > 0, let src = payload.baseAddress {
                (buf.baseAddress! + i).copyMemory(from: src, byteCount: payload.count)
                i += payload.count
            }
            return i
        }
        previousNs = receiveTimeNs
        frameCount += 1
        if receiveTimeNs < startNs { startNs = receiveTimeNs }
        if receiveTimeNs > endNs { endNs = receiveTimeNs }
    }

    mutating func append(receiveTimeNs: Int64, userTimestamp: UInt64?, payload: [UInt8]) {
        payload.withUnsafeBytes { append(receiveTimeNs: receiveTimeNs, userTimestamp: userTimestamp, payload: $0) }
    }

    /// Empties the chunk, keeping the buffer for the next one.
    mutating func reset() {
        count = 0
        frameCount = 0
        startNs = .max
        endNs = .min
        previousNs = 0
    }
}

/// One decoded frame record; the payload is a range of the buffer it was decoded from.
struct ChunkRecord: Hashable {
    var receiveTimeNs: Int64
    var userTimestamp: UInt64?
    var payloadOffset: Int
    var payloadCount: Int
}

/// Why a chunk body did not decode; `at` is the byte offset of the record field concerned.
enum ChunkDecodingError: Error, Hashable, CustomStringConvertible {
    case truncated(at: Int, field: String)
    case malformed(at: Int, String)

    var description: String {
        switch self {
        case let .truncated(at, field): return "byte \(at): chunk body ends inside a record (\(field))"
        case let .malformed(at, why): return "byte \(at): \(why)"
        }
    }

    var offset: Int {
        switch self {
        case let .truncated(at, _), let .malformed(at, _): return at
        }
    }
}

/// Walks the records of a chunk body. Every length is checked against the buffer before use.
struct ChunkDecoder {
    private(set) var offset = 0
    private var previousNs: Int64 = 0

    init() {}

    /// Decodes the record at the current offset, or returns nil at the clean end of the body.
    @inline(__always)
    mutating func next(in body: UnsafeRawBufferPointer) throws(ChunkDecodingError) -> ChunkRecord? {
        guard offset < body.count else { return nil }
        var i = offset
        let delta = Varint.unzigzag(try Varint.read(body, at: &i))
        let time = previousNs &+ delta
        guard i < body.count else { throw .truncated(at: i, field: "flags") }
        let flags = body[i]
        if flags & ~ChunkEncoder.flagUserTimestamp != 0 {
            throw .malformed(at: i, "unknown flag bits 0x\(String(flags, radix: 16)) (format version 1 defines bit 0 only)")
        }
        i += 1
        var userTimestamp: UInt64?
        if flags & ChunkEncoder.flagUserTimestamp != 0 {
            guard body.count - i >= 8 else { throw .truncated(at: i, field: "user timestamp") }
            userTimestamp = UInt64(littleEndian: body.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        let lengthAt = i
        let length = try Varint.read(body, at: &i)
        guard length <= UInt64(body.count - i) else {
            throw .truncated(at: lengthAt, field: "payload of \(length) bytes, \(body.count - i) left")
        }
        let record = ChunkRecord(receiveTimeNs: time, userTimestamp: userTimestamp, payloadOffset: i, payloadCount: Int(length))
        offset = i + Int(length)
        previousNs = time
        return record
    }

    /// Decodes a whole body (tests, doctor).
    static func decodeAll(_ body: [UInt8]) throws -> [ChunkRecord] {
        var decoder = ChunkDecoder()
        var out: [ChunkRecord] = []
        try body.withUnsafeBytes { raw in
            while let r = try decoder.next(in: raw) { out.append(r) }
        }
        return out
    }
}
