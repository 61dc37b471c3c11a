import Pipeline
import TrackModel

/// Frames of the snapshot ring sealed into one compressed block: what keeps minutes of a
/// high-rate session in `max_bytes`. The body is a run of records
///
/// ```
/// track        varint   index into `tracks`
/// time_ns      i64 LE   receive time
/// flags        u8       bit 0: a user timestamp follows
/// user_ts      u64 LE   only when flags bit 0 is set
/// length       varint   payload length
/// payload      bytes
/// ```
///
/// compressed as a whole by the sink's compressor (zstd, as the file's chunks).
public struct SnapshotBlock: Sendable {
    /// The body as stored (compressed).
    public var stored: [UInt8]
    public var rawSize: Int
    public var tracks: [TrackInfo]
    public var frameCount: Int
    public var oldestNs: Int64
    public var newestNs: Int64

    /// What the block costs against `max_bytes`: stored bytes plus the per-frame overhead for
    /// its track table and the block itself.
    public var cost: Int { stored.count + SnapshotRing.frameOverhead * (tracks.count + 1) }

    /// Seals `frames` (at least one): encodes them and hands the body to `compress`.
    public static func seal(_ frames: ArraySlice<Frame>, compress: ([UInt8]) throws -> [UInt8]) rethrows -> SnapshotBlock {
        var tracks: [TrackInfo] = []
        var index: [TrackInfo: Int] = [:]
        var body: [UInt8] = []
        body.reserveCapacity(frames.reduce(0) { $0 + $1.payload.count + 24 })
        var oldest = Int64.max
        var newest = Int64.min
        for f in frames {
            let i: Int
            if let known = index[f.track] { i = known } else {
                i = tracks.count
                tracks.append(f.track)
                index[f.track] = i
            }
            appendVarint(UInt64(i), to: &body)
            appendLE(UInt64(bitPattern: f.receiveTimeNs), to: &body)
            if let ts = f.userTimestamp {
                body.append(1)
                appendLE(ts, to: &body)
            } else {
                body.append(0)
            }
            appendVarint(UInt64(f.payload.count), to: &body)
            body.append(contentsOf: f.payload)
            oldest = min(oldest, f.receiveTimeNs)
            newest = max(newest, f.receiveTimeNs)
        }
        return SnapshotBlock(stored: try compress(body), rawSize: body.count, tracks: tracks, frameCount: frames.count,
                             oldestNs: oldest, newestNs: newest)
    }

    /// The frames back, in the order sealed. `decompress` gets the stored bytes and `rawSize`.
    public func frames(decompress: ([UInt8], Int) throws -> [UInt8]) throws -> [Frame] {
        let body = try decompress(stored, rawSize)
        var out: [Frame] = []
        out.reserveCapacity(frameCount)
        var at = 0
        func fail(_ what: String) -> PipelineError {
            PipelineError(message: "snapshot ring: block damaged at byte \(at) of \(body.count): \(what)")
        }
        func varint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard at < body.count, shift < 64 else { throw fail("varint") }
                let b = body[at]
                at += 1
                value |= UInt64(b & 0x7f) << shift
                if b & 0x80 == 0 { return value }
                shift += 7
            }
        }
        func le() throws -> UInt64 {
            guard at + 8 <= body.count else { throw fail("truncated u64") }
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(body[at + k]) << (8 * UInt64(k)) }
            at += 8
            return v
        }
        while at < body.count {
            let t = Int(try varint())
            guard t < tracks.count else { throw fail("track index \(t) of \(tracks.count)") }
            let time = Int64(bitPattern: try le())
            guard at < body.count else { throw fail("flags") }
            let flags = body[at]
            at += 1
            let ts: UInt64? = flags & 1 == 1 ? try le() : nil
            let n = Int(try varint())
            guard n <= body.count - at else { throw fail("payload length \(n)") }
            out.append(Frame(track: tracks[t], payload: Array(body[at..<(at + n)]), userTimestamp: ts, receiveTimeNs: time))
            at += n
        }
        guard out.count == frameCount else { throw fail("\(out.count) frames, the block says \(frameCount)") }
        return out
    }

    private static func appendVarint(_ v: UInt64, to out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    private static func appendLE(_ v: UInt64, to out: inout [UInt8]) {
        for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) }
    }
}
