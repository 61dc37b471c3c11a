// Targets for files nobody vetted: `.tbag` recordings (chunk bodies, varints, chunk rows through
// summary, doctor and the frame cursor, whole files) and MCAP files (every record, summary and
// index paths, chunk decompression).
#if canImport(Glibc)
import Glibc
#endif
import MCAP
@testable import Recording
import TrackModel

/// Declared sizes the targets let through: bigger ones are clamped, so a run measures the
/// parsers, not how much a file can ask the allocator for (those limits have their own tests).
let fuzzMaxDeclaredBytes = 1 << 20

let storageTargets: [FuzzTarget] = [
    FuzzTarget(name: "varint", summary: "LEB128 varints and zigzag, round trip") { bytes in
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let start = offset
                guard let value = try? Varint.read(raw, at: &offset) else { break }
                if offset <= start || offset - start > Varint.maxLength { finding("varint of \(offset - start) bytes") }
                var encoded: [UInt8] = []
                Varint.append(value, to: &encoded)
                var again = 0
                let decoded = encoded.withUnsafeBytes { try? Varint.read($0, at: &again) }
                if decoded != value || again != encoded.count { finding("varint \(value) does not round-trip") }
                if Varint.zigzag(Varint.unzigzag(value)) != value { finding("zigzag \(value) does not round-trip") }
            }
        }
    },
    FuzzTarget(name: "tbag-chunk", summary: "chunk body decoder (raw and zstd), re-encode round trip") { bytes in
        guard let mode = bytes.first else { return }
        var body = Array(bytes.dropFirst())
        if mode & 1 != 0 {
            // A zstd frame; the declared raw size comes from the first 3 bytes.
            guard body.count >= 3 else { return }
            let declared = min(fuzzMaxDeclaredBytes, Int(body[0]) << 16 | Int(body[1]) << 8 | Int(body[2]))
            guard let decompressor = try? ZstdDecompressor() else { return }
            var out: [UInt8] = []
            let frame = Array(body.dropFirst(3))
            let inflated = frame.withUnsafeBytes { source in
                (try? decompressor.decompress(source, expectedSize: declared, into: &out)) != nil
            }
            guard inflated else { return }
            body = out
        }
        guard let records = try? ChunkDecoder.decodeAll(body) else { return }
        var encoder = ChunkEncoder()
        for r in records {
            if r.payloadOffset < 0 || r.payloadCount < 0 || r.payloadOffset + r.payloadCount > body.count {
                finding("record payload \(r.payloadOffset)+\(r.payloadCount) outside a \(body.count)-byte body")
            }
            encoder.append(receiveTimeNs: r.receiveTimeNs, userTimestamp: r.userTimestamp,
                           payload: Array(body[r.payloadOffset..<(r.payloadOffset + r.payloadCount)]))
        }
        let again = encoder.withBody { (try? ChunkDecoder.decodeAll(Array($0))) ?? [] }
        if again.count != records.count || zip(again, records).contains(where: { $0.receiveTimeNs != $1.receiveTimeNs || $0.userTimestamp != $1.userTimestamp || $0.payloadCount != $1.payloadCount }) {
            finding("chunk body of \(records.count) records does not round-trip")
        }
    },
    FuzzTarget(name: "tbag-rows", summary: "chunk rows (times, counts, sizes, bodies) → info, doctor, frame cursor") { bytes in
        guard let path = TbagTemplate.recording(withChunkRows: bytes) else { return }
        readRecording(path)
    },
    FuzzTarget(name: "tbag-file", summary: "whole .tbag files (SQLite) → open, summary, doctor, frame cursor") { bytes in
        readRecording(ScratchFile.write(bytes, name: "input.tbag"))
    },
    FuzzTarget(name: "mcap", summary: "MCAP reader: records, summary and index, chunks (zstd/lz4), both modes, log-time order") { bytes in
        let path = ScratchFile.write(bytes, name: "input.mcap")
        for options in [MCAPReader.Options(validateCRCs: true, useIndex: true, maxChunkSize: UInt64(fuzzMaxDeclaredBytes)),
                        MCAPReader.Options(validateCRCs: false, useIndex: false, maxChunkSize: UInt64(fuzzMaxDeclaredBytes)),
                        MCAPReader.Options(validateCRCs: false, useIndex: true, maxChunkSize: UInt64(fuzzMaxDeclaredBytes),
                                           order: .logTime, maxHeldChunkBytes: UInt64(fuzzMaxDeclaredBytes))] {
            guard let reader = try? MCAPReader(path: path, options: options) else { continue }
            _ = try? reader.readSummary()
            var records = 0
            while records < 10_000, let record = try? reader.next() {
                _ = record
                records += 1
            }
        }
    },
]

/// Everything the CLI does with a recording it is given: open, `info`, `doctor`, export's cursor
/// (whole file, a time window, one track).
func readRecording(_ path: String) {
    _ = try? RecordingDoctor.check(path: path)
    guard let reader = try? RecordingReader(path: path) else { return }
    _ = try? reader.summary()
    _ = try? reader.timeRange()
    _ = try? reader.events()
    let selections = [FrameSelection(), FrameSelection(startNs: 1_000, endNs: 50_000),
                      FrameSelection(trackIDs: Set(reader.tracks.prefix(1).map(\.id)))]
    for selection in selections {
        guard let cursor = try? reader.frames(selection) else { continue }
        var frames = 0
        while frames < 100_000, (try? cursor.advance()) == true {
            cursor.withCurrentPayload { _ = $0.count }
            frames += 1
        }
    }
}

/// A small healthy recording made once per process; each input replaces its chunk rows.
enum TbagTemplate {
    static let bytes: [UInt8] = {
        let path = ScratchFile.directory + "/template.tbag"
        do {
            let writer = try RecordingWriter(path: path, options: .init(chunkBytes: 256, chunkIntervalNs: nil))
            let a = try writer.addTrack(TrackInfo(identity: "robot", name: "pose", frameEncoding: "json"))
            let b = try writer.addTrack(TrackInfo(identity: "robot", name: "imu"))
            for i in 0..<40 {
                try writer.append(track: i % 3 == 0 ? b : a, receiveTimeNs: Int64(i) * 1000, userTimestamp: UInt64(i),
                                  payload: Array("{\"i\":\(i)}".utf8))
            }
            try writer.close()
        } catch {
            finding("cannot write the template recording: \(error)")
        }
        guard let fd = Optional(open(path, O_RDONLY)), fd >= 0 else { finding("cannot read the template") }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }()

    /// Input: a run of pieces, each one chunk row: track id (u8), start_ns, end_ns, frame_count
    /// (i64 BE each), raw_size (u24 BE, clamped to fuzzMaxDeclaredBytes), codec (u8: zstd, none,
    /// or an unknown name), then the blob.
    static func recording(withChunkRows input: [UInt8]) -> String? {
        let path = ScratchFile.write(bytes, name: "rows.tbag")
        guard let db = try? SQLiteConnection(path: path, readOnly: false) else { finding("template does not open") }
        defer { db.close() }
        guard (try? db.execute("DELETE FROM chunks")) != nil,
              let insert = try? db.prepare("INSERT INTO chunks(track_id, start_ns, end_ns, frame_count, raw_size, codec, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        else { finding("template rejects chunk rows") }
        for row in Pieces(input).prefix(64) {
            guard row.count >= 29 else { continue }
            func i64(_ at: Int) -> Int64 { row[at..<(at + 8)].reduce(Int64(0)) { $0 << 8 | Int64($1) } }
            insert.bind(1, Int64(row[0] % 4))
            insert.bind(2, i64(1))
            insert.bind(3, i64(9))
            insert.bind(4, i64(17))
            insert.bind(5, Int64(min(fuzzMaxDeclaredBytes, Int(row[25]) << 16 | Int(row[26]) << 8 | Int(row[27]))))
            insert.bind(6, ["zstd", "none", "lz4", ""][Int(row[28] % 4)] as String?)
            insert.bindCopy(7, Array(row[29...]))
            _ = try? insert.run()
            insert.reset()
        }
        return path
    }
}
