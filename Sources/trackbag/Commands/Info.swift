import ArgumentParser
import Foundation
import Recording
import TrackModel

/// `trackbag info FILE [--json]`: what a recording holds, from its chunk index (fast on any size).
struct Info: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a recording's tracks, frame counts, duration, rates, sizes, gaps and drops, schemas and events.")

    @Argument(help: "The .tbag file.")
    var file: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let reader = try RecordingReader(path: file)
        let summary = try reader.summary()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(InfoJSON(summary, schemas: reader.tracks.compactMap(\.info.schema)))
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(Self.text(summary, schemas: reader.tracks.compactMap(\.info.schema)))
        }
    }

    static func text(_ s: RecordingSummary, schemas: [SchemaInfo]) -> String {
        var out: [String] = []
        out.append("file       \(s.path) (\(bytes(s.fileBytes)), format version \(s.formatVersion))")
        if let room = s.meta["room"] { out.append("room       \(room)" + (s.meta["url"].map { "  url \($0)" } ?? "")) }
        if let created = s.meta["created_at"] { out.append("created    \(created)" + (s.meta["closed_at"] == nil ? "  (not closed: writer stopped early)" : "")) }
        if let a = s.firstNs, let b = s.lastNs {
            out.append("time       \(iso(a)) → \(iso(b))  (\(String(format: "%.3f", s.durationSeconds)) s)")
        }
        out.append("frames     \(s.frameCount) in \(s.chunkCount) chunks; raw \(bytes(s.rawBytes)), stored \(bytes(s.storedBytes)), compression \(String(format: "%.2f", s.compressionRatio))x")
        out.append("")
        var rows: [[String]] = [["id", "track", "sid", "handle", "encoding", "encryption", "frames", "duration s", "rate Hz", "raw", "stored", "ratio", "drops", "gaps", "missing"]]
        for t in s.tracks {
            rows.append([
                String(t.id), "\(t.identity)/\(t.name)", t.sid ?? "-", t.pubHandle.map(String.init) ?? "-",
                t.frameEncoding ?? "-", t.encryption, String(t.frameCount), String(format: "%.3f", t.durationSeconds),
                String(format: "%.1f", t.rateHz), bytes(t.rawBytes), bytes(t.storedBytes),
                t.storedBytes > 0 ? String(format: "%.2fx", Double(t.rawBytes) / Double(t.storedBytes)) : "-",
                String(t.droppedFrames), String(t.gapEvents), String(t.missingFrames),
            ])
        }
        out.append(contentsOf: table(rows))
        let encrypted = s.tracks.filter { $0.encryption == "gcm" }
        if !encrypted.isEmpty {
            out.append("")
            out.append("encrypted  \(encrypted.count) track(s) hold E2EE ciphertext as received (key index and IV kept): "
                       + encrypted.map { "\($0.identity)/\($0.name)" }.joined(separator: ", ")
                       + "; `trackbag play` replays them as is, `trackbag export --key KEY` decrypts")
        }
        let uniqueSchemas = Set(schemas)
        if !uniqueSchemas.isEmpty {
            out.append("")
            out.append("schemas    " + uniqueSchemas.sorted { $0.name < $1.name }.map { "\($0.name) (\($0.encoding), \($0.data.count) bytes)" }.joined(separator: ", "))
        }
        out.append("")
        out.append("events     " + (s.eventCounts.isEmpty ? "none" : s.eventCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        for problem in s.problems { out.append("problem    \(problem)") }
        return out.joined(separator: "\n")
    }

    static func table(_ rows: [[String]]) -> [String] {
        guard let first = rows.first else { return [] }
        let widths = (0..<first.count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, v in
                c <= 5 ? v.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[c] - v.count) + v
            }.joined(separator: "  ")
        }
    }

    static func bytes(_ n: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var u = 0
        while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
    }

    static func iso(_ ns: Int64) -> String { UnixTime.iso8601(ns: ns) }
}

/// The `--json` shape: the summary plus the derived figures the table shows.
struct InfoJSON: Encodable {
    struct Track: Encodable {
        var id: Int
        var identity: String
        var name: String
        var sid: String?
        var pub_handle: UInt16?
        var encryption: String
        var frame_encoding: String?
        var schema: String?
        var frames: Int64
        var chunks: Int64
        var first_ns: Int64?
        var last_ns: Int64?
        var duration_s: Double
        var rate_hz: Double
        var raw_bytes: Int64
        var stored_bytes: Int64
        var compression_ratio: Double?
        var dropped_frames: Int64
        var gap_events: Int64
        var missing_frames: Int64
    }
    struct Schema: Encodable {
        var name: String
        var encoding: String
        var bytes: Int
    }
    var path: String
    var format_version: Int
    var meta: [String: String]
    var frames: Int64
    var chunks: Int64
    var first_ns: Int64?
    var last_ns: Int64?
    var duration_s: Double
    var raw_bytes: Int64
    var stored_bytes: Int64
    var file_bytes: Int64
    var compression_ratio: Double
    var tracks: [Track]
    var schemas: [Schema]
    var events: [String: Int64]
    /// Totals the rows make impossible (saturated above); empty for a sound file.
    var problems: [String]

    init(_ s: RecordingSummary, schemas: [SchemaInfo]) {
        path = s.path
        format_version = s.formatVersion
        meta = s.meta
        frames = s.frameCount
        chunks = s.chunkCount
        first_ns = s.firstNs
        last_ns = s.lastNs
        duration_s = s.durationSeconds
        raw_bytes = s.rawBytes
        stored_bytes = s.storedBytes
        file_bytes = s.fileBytes
        compression_ratio = s.compressionRatio
        tracks = s.tracks.map { t in
            Track(id: t.id, identity: t.identity, name: t.name, sid: t.sid, pub_handle: t.pubHandle, encryption: t.encryption,
                  frame_encoding: t.frameEncoding, schema: t.schemaName, frames: t.frameCount, chunks: t.chunkCount,
                  first_ns: t.firstNs, last_ns: t.lastNs, duration_s: t.durationSeconds, rate_hz: t.rateHz,
                  raw_bytes: t.rawBytes, stored_bytes: t.storedBytes,
                  compression_ratio: t.storedBytes > 0 ? Double(t.rawBytes) / Double(t.storedBytes) : nil,
                  dropped_frames: t.droppedFrames, gap_events: t.gapEvents, missing_frames: t.missingFrames)
        }
        self.schemas = Set(schemas).sorted { $0.name < $1.name }.map { Schema(name: $0.name, encoding: $0.encoding, bytes: $0.data.count) }
        events = s.eventCounts
        problems = s.problems
    }
}
