#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TrackModel

/// Checks a `.tbag` file deeply and recovers what can be recovered (`trackbag doctor`).
public enum RecordingDoctor {
    public struct Problem: Sendable, Hashable, Encodable, CustomStringConvertible {
        public var place: String
        public var message: String
        public var description: String { "\(place): \(message)" }
    }

    public struct Report: Sendable, Hashable, Encodable {
        public var path: String
        public var chunksChecked = 0
        public var framesChecked: Int64 = 0
        public var problems: [Problem] = []
        public var isHealthy: Bool { problems.isEmpty }
    }

    /// SQLite's `integrity_check`, then every chunk: decodes, frame count, raw size, time range,
    /// track exists. Opening failures (not SQLite, newer version…) are thrown.
    public static func check(path: String) throws -> Report {
        let reader = try RecordingReader(path: path)
        var report = Report(path: path)
        do {
            let s = try reader.db.prepare("PRAGMA integrity_check")
            while try s.step() {
                let line = s.string(0) ?? ""
                if line != "ok" { report.problems.append(Problem(place: "PRAGMA integrity_check", message: line)) }
            }
        } catch let e as RecordingError {
            report.problems.append(Problem(place: "PRAGMA integrity_check", message: e.message))
        }
        let trackIDs = Set(reader.tracks.map(\.id))
        let decompressor = try ZstdDecompressor()
        var body: [UInt8] = []
        var trackTotals: [Int64: (frames: Int64, raw: Int64)] = [:]
        var overflowReported: Set<Int64> = []
        do {
            let s = try reader.db.prepare("SELECT id, track_id, start_ns, end_ns, frame_count, raw_size, codec, data FROM chunks ORDER BY id")
            while try s.step() {
                report.chunksChecked += 1
                let chunk = Chunk(id: s.int64(0), trackID: s.int64(1), startNs: s.int64(2), endNs: s.int64(3),
                                  frameCount: s.int64(4), rawSize: s.int64(5), codec: s.string(6) ?? "", blob: s.blob(7))
                if !trackIDs.contains(Int(chunk.trackID)) {
                    report.problems.append(Problem(place: chunk.place, message: "track \(chunk.trackID) is not in the tracks table"))
                }
                for message in chunk.rowProblems() {
                    report.problems.append(Problem(place: chunk.place, message: message))
                }
                // Totals over rows are what `info` shows: each must fit in Int64.
                var totals = trackTotals[chunk.trackID] ?? (0, 0)
                let (frames, framesOverflow) = totals.frames.addingReportingOverflow(max(0, chunk.frameCount))
                let (raw, rawOverflow) = totals.raw.addingReportingOverflow(max(0, chunk.rawSize))
                if framesOverflow && !overflowReported.contains(chunk.trackID) {
                    overflowReported.insert(chunk.trackID)
                    report.problems.append(Problem(place: chunk.place, message: "frame_count \(chunk.frameCount) makes track \(chunk.trackID)'s frame total overflow Int64"))
                }
                if rawOverflow && !overflowReported.contains(chunk.trackID) {
                    overflowReported.insert(chunk.trackID)
                    report.problems.append(Problem(place: chunk.place, message: "raw_size \(chunk.rawSize) makes track \(chunk.trackID)'s raw total overflow Int64"))
                }
                totals = (framesOverflow ? .max : frames, rawOverflow ? .max : raw)
                trackTotals[chunk.trackID] = totals
                do {
                    report.framesChecked += Int64(try chunk.verify(decompressor, &body))
                } catch let e as RecordingError {
                    report.problems.append(Problem(place: chunk.place, message: e.message))
                }
            }
        } catch let e as RecordingError {
            report.problems.append(Problem(place: "chunks table after \(report.chunksChecked) chunks", message: e.message))
        }
        var all: Int64 = 0
        for (track, totals) in trackTotals.sorted(by: { $0.key < $1.key }) {
            let (sum, overflow) = all.addingReportingOverflow(totals.frames)
            if overflow {
                report.problems.append(Problem(place: "track \(track)", message: "frame_count totals of all tracks overflow Int64"))
                break
            }
            all = sum
        }
        return report
    }

    public struct RepairReport: Sendable, Hashable, Encodable {
        public var source: String
        public var output: String
        public var chunksRecovered = 0
        public var framesRecovered: Int64 = 0
        public var chunksLost = 0
        /// Frames the lost chunks' rows claimed (unknown for rows SQLite could not read).
        public var framesLost: Int64 = 0
        public var eventsRecovered = 0
        public var lost: [Problem] = []
    }

    /// Copies every readable track, event and decodable chunk of `path` into a new, valid file
    /// at `output` and reports what was lost. The source is never modified.
    public static func repair(path: String, output: String) throws -> RepairReport {
        do {
            try OutputPath.refuseInput(output: output, inputs: [path])
        } catch {
            throw RecordingError(.invalidArgument, error.message, file: path)
        }
        try RecordingReader.checkFileHeaderForRepair(path)
        let src = try SQLiteConnection(path: path, readOnly: true)
        // A file cut short has a header page count beyond its end, which SQLite refuses as
        // corrupt unless writable_schema is on (sqlite.org/pragma.html#pragma_writable_schema);
        // we only read, so this lets the surviving pages be read.
        try? src.execute("PRAGMA writable_schema=ON")
        var report = RepairReport(source: path, output: output)
        let tracks: [RecordedTrack]
        do {
            tracks = try RecordingReader.loadTracks(src)
        } catch let e as RecordingError {
            throw RecordingError(.corrupt, "the tracks table cannot be read, nothing to recover: \(e.message)", file: path, place: "tracks")
        }
        var meta: [(String, String)] = []
        if let m = try? src.prepare("SELECT key, value FROM meta") {
            while (try? m.step()) == true { if let k = m.string(0) { meta.append((k, m.string(1) ?? "")) } }
        }
        // Written beside `output` and renamed into place when complete; `path` (and its
        // sidecars, by any name or link) is refused as the output.
        let writer = try RecordingWriter(path: output, options: .init(chunkIntervalNs: nil, overwrite: true,
                                                                      replaceAtClose: true, inputs: [path]))
        for (k, v) in meta where k != RecordingMetaKey.formatVersion && k != RecordingMetaKey.closedAt {
            try writer.setMeta(k, v)
        }
        try writer.setMeta("repaired_from", path)
        var idMap: [Int64: Int] = [:]
        for t in tracks { idMap[Int64(t.id)] = try writer.addTrack(t.info) }
        if let e = try? src.prepare("SELECT time_ns, kind, identity, track, count, detail FROM events ORDER BY id") {
            while (try? e.step()) == true {
                let kind = SessionEvent.Kind(rawValue: e.string(1) ?? "") ?? .note
                try writer.record(event: SessionEvent(timeNs: e.int64(0), kind: kind, identity: e.string(2), track: e.string(3),
                                                      count: e.optionalInt64(4), detail: e.string(5)))
                report.eventsRecovered += 1
            }
        }
        // Chunk rows one by one by id: a damaged b-tree page then costs only the rows on it.
        // Ids are dense (1, 2, 3…); when MAX(id) itself is unreadable (the end of the file is
        // gone), probe upwards until 1000 ids in a row are missing or unreadable.
        let knownMax: Int64? = (try? src.scalarInt("SELECT MAX(id) FROM chunks")) ?? nil
        let one = try src.prepare("SELECT id, track_id, start_ns, end_ns, frame_count, raw_size, codec, data FROM chunks WHERE id = ?")
        let decompressor = try ZstdDecompressor()
        var body: [UInt8] = []
        var id: Int64 = 0
        var misses = 0
        var trailingUnreadable: [Int64] = []
        while knownMax.map({ id < $0 }) ?? (misses < 1000) {
            id += 1
            one.bind(1, id)
            defer { one.reset() }
            let found: Bool
            do { found = try one.step() } catch let e as RecordingError {
                misses += 1
                if knownMax == nil {
                    trailingUnreadable.append(id)
                } else {
                    report.chunksLost += 1
                    report.lost.append(Problem(place: "chunk \(id)", message: "row unreadable: \(e.message)"))
                }
                continue
            }
            guard found else { misses += 1; continue }
            misses = 0
            // Unreadable ids followed by a readable one were real rows.
            for lostID in trailingUnreadable {
                report.chunksLost += 1
                report.lost.append(Problem(place: "chunk \(lostID)", message: "row unreadable"))
            }
            trailingUnreadable.removeAll()
            let chunk = Chunk(id: one.int64(0), trackID: one.int64(1), startNs: one.int64(2), endNs: one.int64(3),
                              frameCount: one.int64(4), rawSize: one.int64(5), codec: one.string(6) ?? "", blob: one.blob(7))
            do {
                guard let newID = idMap[chunk.trackID] else {
                    throw RecordingError(.corrupt, "track \(chunk.trackID) is not in the tracks table")
                }
                _ = try chunk.verify(decompressor, &body)
                // Re-append the decoded frames: the writer re-chunks and re-compresses them.
                var decoder = ChunkDecoder()
                try body.withUnsafeBytes { raw in
                    while let r = try decoder.next(in: raw) {
                        try writer.append(track: newID, receiveTimeNs: r.receiveTimeNs, userTimestamp: r.userTimestamp,
                                          payload: UnsafeRawBufferPointer(rebasing: raw[r.payloadOffset..<(r.payloadOffset + r.payloadCount)]))
                    }
                }
                try writer.flush()
                report.chunksRecovered += 1
                report.framesRecovered += chunk.frameCount
            } catch let e as RecordingError {
                report.chunksLost += 1
                report.framesLost += max(0, chunk.frameCount)
                report.lost.append(Problem(place: chunk.place, message: e.message))
            }
        }
        if knownMax == nil {
            report.lost.append(Problem(place: "chunks after id \(id - Int64(misses))",
                                       message: "the end of the chunk table is unreadable (file cut off?): rows there, if any, are lost and not counted"))
        }
        try writer.close()
        return report
    }

    /// One chunk row, checked without trusting any of its columns.
    struct Chunk {
        var id: Int64
        var trackID: Int64
        var startNs: Int64
        var endNs: Int64
        var frameCount: Int64
        var rawSize: Int64
        var codec: String
        var blob: UnsafeRawBufferPointer
        var place: String { "chunk \(id) (track \(trackID))" }

        /// What the row's own columns get wrong, before any decoding: values no writer
        /// produces, whose arithmetic would overflow.
        func rowProblems() -> [String] {
            var out: [String] = []
            if frameCount < 0 { out.append("frame_count \(frameCount) is negative") }
            if frameCount == 0 { out.append("frame_count is 0: the writer never stores an empty chunk") }
            if startNs > endNs {
                out.append("start_ns \(startNs) is after end_ns \(endNs)")
            } else if endNs.subtractingReportingOverflow(startNs).overflow {
                out.append("the span end_ns - start_ns (\(startNs)…\(endNs)) overflows Int64")
            }
            return out
        }

        /// Decodes the chunk into `body` and checks it against its row; returns the frame count.
        func verify(_ decompressor: ZstdDecompressor, _ body: inout [UInt8]) throws -> Int {
            try RecordingFormat.checkChunkSizes(rawSize: rawSize, storedSize: blob.count, codec: codec)
            switch codec {
            case RecordingFormat.codecZstd: try decompressor.decompress(blob, expectedSize: Int(rawSize), into: &body)
            case RecordingFormat.codecNone:
                guard blob.count == Int(rawSize) else { throw RecordingError(.corrupt, "blob is \(blob.count) bytes, raw_size says \(rawSize)") }
                body = [UInt8](blob)
            default: throw RecordingError(.corrupt, "unknown chunk codec '\(codec)'")
            }
            var decoder = ChunkDecoder()
            var n = 0
            var lo = Int64.max, hi = Int64.min
            do {
                try body.withUnsafeBytes { raw in
                    while let r = try decoder.next(in: raw) {
                        n += 1
                        lo = min(lo, r.receiveTimeNs)
                        hi = max(hi, r.receiveTimeNs)
                    }
                }
            } catch {
                throw RecordingError(.corrupt, "body does not decode: \(error)")
            }
            guard n == frameCount else { throw RecordingError(.corrupt, "body holds \(n) frames, frame_count says \(frameCount)") }
            guard n == 0 || (lo == startNs && hi == endNs) else {
                throw RecordingError(.corrupt, "frames span \(lo)…\(hi), row says \(startNs)…\(endNs)")
            }
            return n
        }
    }
}

extension RecordingReader {
    /// Repair accepts what a reader refuses as long as SQLite can open it: only a non-SQLite
    /// file or a newer format is hopeless.
    static func checkFileHeaderForRepair(_ path: String) throws {
        do {
            try checkFileHeader(path)
        } catch let e as RecordingError where e.kind == .truncated {
            return
        }
        let db = try SQLiteConnection(path: path, readOnly: true)
        if let v = try? db.scalarInt("PRAGMA user_version"), v > Int64(RecordingFormat.version) {
            throw RecordingError(.newerVersion, "format version \(v) is newer than this trackbag repairs (\(RecordingFormat.version))",
                                 file: path, place: "PRAGMA user_version")
        }
    }
}
