/// What `trackbag info` shows: per-track counts, times and sizes from the chunk index (no chunk
/// is decompressed), plus drop/gap events and an event tally.
public struct RecordingSummary: Sendable, Hashable, Encodable {
    public struct Track: Sendable, Hashable, Encodable {
        public var id: Int
        public var identity: String
        public var name: String
        public var sid: String?
        public var pubHandle: UInt16?
        public var encryption: String
        public var frameEncoding: String?
        public var schemaName: String?
        public var schemaEncoding: String?
        public var frameCount: Int64
        public var chunkCount: Int64
        /// Receive times of the first and last frame (Unix ns); nil without frames.
        public var firstNs: Int64?
        public var lastNs: Int64?
        /// Bytes of chunk bodies before and after compression.
        public var rawBytes: Int64
        public var storedBytes: Int64
        /// Frames lost before they reached the recorder (sum of `drop` events' counts).
        public var droppedFrames: Int64
        /// `gap` events recorded for the track.
        public var gapEvents: Int64
        /// Frames of which nothing arrived, by the publisher's frame numbers (sum of `gap`
        /// events' counts).
        public var missingFrames: Int64 = 0

        /// In Double: the span of two Int64 times from a file can exceed Int64.
        public var durationSeconds: Double { RecordingSummary.seconds(from: firstNs, to: lastNs) }
        /// Mean frame rate over the track's own span (frames - 1 intervals).
        public var rateHz: Double {
            let d = durationSeconds
            return d > 0 && frameCount > 1 ? (Double(frameCount) - 1) / d : 0
        }
    }

    public var path: String
    public var formatVersion: Int
    public var meta: [String: String]
    public var tracks: [Track]
    public var firstNs: Int64?
    public var lastNs: Int64?
    public var frameCount: Int64
    public var chunkCount: Int64
    public var rawBytes: Int64
    public var storedBytes: Int64
    public var fileBytes: Int64
    /// Events by kind.
    public var eventCounts: [String: Int64]
    /// Totals the file's rows make impossible (a sum beyond Int64): the total is shown
    /// saturated at Int64.max and the problem named here; `trackbag doctor` names the rows.
    public var problems: [String] = []

    public var durationSeconds: Double { Self.seconds(from: firstNs, to: lastNs) }

    static func seconds(from a: Int64?, to b: Int64?) -> Double {
        guard let a, let b else { return 0 }
        return (Double(b) - Double(a)) / 1e9
    }

    /// Sums values read from a file, saturating at the Int64 bounds instead of trapping;
    /// `overflowed` tells the caller to report it.
    static func checkedSum(_ values: [Int64]) -> (sum: Int64, overflowed: Bool) {
        var sum: Int64 = 0
        for v in values {
            let (r, o) = sum.addingReportingOverflow(v)
            if o { return (v > 0 ? .max : .min, true) }
            sum = r
        }
        return (sum, false)
    }
    /// raw / stored; 1 when nothing is stored.
    public var compressionRatio: Double { storedBytes > 0 ? Double(rawBytes) / Double(storedBytes) : 1 }
}

extension RecordingReader {
    public func summary() throws -> RecordingSummary {
        var perTrack: [Int: (frames: Int64, chunks: Int64, first: Int64?, last: Int64?, raw: Int64, stored: Int64)] = [:]
        // TOTAL, not SUM: SQLite's SUM fails the whole query on integer overflow, and rows from
        // a file may hold anything. Sums are exact below 2^53 and saturate beyond Int64.
        let s = try db.prepare("""
            SELECT track_id, TOTAL(frame_count), COUNT(*), MIN(start_ns), MAX(end_ns), TOTAL(raw_size), TOTAL(length(data))
            FROM chunks GROUP BY track_id
            """)
        var trackProblems: [String] = []
        func saturated(_ v: Double, _ what: String, _ track: Int64) -> Int64 {
            if v >= 9_223_372_036_854_775_807 || v <= -9_223_372_036_854_775_808 {
                trackProblems.append("track \(track): its chunks' \(what) add up to Int64's limit or beyond (shown as the limit); run trackbag doctor")
                return v > 0 ? .max : .min
            }
            return Int64(v)
        }
        while try s.step() {
            let id = s.int64(0)
            perTrack[Int(truncatingIfNeeded: id)] = (saturated(s.double(1), "frame counts", id), s.int64(2), s.optionalInt64(3), s.optionalInt64(4),
                                                     saturated(s.double(5), "raw sizes", id), saturated(s.double(6), "stored sizes", id))
        }
        var drops: [TrackKey: Int64] = [:]
        var gaps: [TrackKey: Int64] = [:]
        var missing: [TrackKey: Int64] = [:]
        var counts: [String: Int64] = [:]
        let e = try db.prepare("SELECT kind, identity, track, SUM(COALESCE(count, 1)), COUNT(*) FROM events GROUP BY kind, identity, track")
        while try e.step() {
            let kind = e.string(0) ?? ""
            counts[kind, default: 0] = RecordingSummary.checkedSum([counts[kind, default: 0], e.int64(4)]).sum
            guard let identity = e.string(1), let track = e.string(2) else { continue }
            let key = TrackKey(identity: identity, name: track)
            if kind == SessionEvent.Kind.drop.rawValue { drops[key] = RecordingSummary.checkedSum([drops[key, default: 0], e.int64(3)]).sum }
            if kind == SessionEvent.Kind.gap.rawValue {
                gaps[key] = RecordingSummary.checkedSum([gaps[key, default: 0], e.int64(4)]).sum
                missing[key] = RecordingSummary.checkedSum([missing[key, default: 0], e.int64(3)]).sum
            }
        }
        let rows = tracks.map { t -> RecordingSummary.Track in
            let p = perTrack[t.id] ?? (0, 0, nil, nil, 0, 0)
            return RecordingSummary.Track(
                id: t.id, identity: t.info.identity, name: t.info.name, sid: t.info.sid, pubHandle: t.info.pubHandle,
                encryption: t.info.encryption.rawValue, frameEncoding: t.info.frameEncoding,
                schemaName: t.info.schema?.name, schemaEncoding: t.info.schema?.encoding,
                frameCount: p.frames, chunkCount: p.chunks, firstNs: p.first, lastNs: p.last,
                rawBytes: p.raw, storedBytes: p.stored,
                droppedFrames: drops[t.info.key] ?? 0, gapEvents: gaps[t.info.key] ?? 0,
                missingFrames: missing[t.info.key] ?? 0)
        }
        var st = stat()
        let fileBytes = stat(path, &st) == 0 ? Int64(st.st_size) : 0
        var problems = trackProblems
        func total(_ name: String, _ values: [Int64]) -> Int64 {
            let (sum, overflowed) = RecordingSummary.checkedSum(values)
            if overflowed { problems.append("the tracks' \(name) add up to more than Int64 holds (shown as \(sum)); run trackbag doctor") }
            return sum
        }
        return RecordingSummary(
            path: path, formatVersion: formatVersion, meta: meta, tracks: rows,
            firstNs: rows.compactMap(\.firstNs).min(), lastNs: rows.compactMap(\.lastNs).max(),
            frameCount: total("frame counts", rows.map(\.frameCount)), chunkCount: total("chunk counts", rows.map(\.chunkCount)),
            rawBytes: total("raw sizes", rows.map(\.rawBytes)), storedBytes: total("stored sizes", rows.map(\.storedBytes)),
            fileBytes: fileBytes, eventCounts: counts, problems: problems)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TrackModel
