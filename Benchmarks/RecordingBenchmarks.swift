import CSQLite
import CZstd
import Foundation
import Pipeline
import Recording
import Stages
import TrackModel

/// Benchmarks for the recording format: write path (writer, recording sink, and the
/// limit loop side by side), read path, and replay pacing.
enum RecordingBenchmarks {
    static let cases: [BenchCase] = [
        BenchCase(name: "write", summary: "2 M frames over 16 tracks into .tbag vs the zstd+SQLite limit loop", run: write),
        BenchCase(name: "read", summary: "full-file merge read and decompress", run: read),
        BenchCase(name: "pacing", summary: "1 kHz track replayed at original pace into a null sink", run: pacing),
        BenchCase(name: "write-levels", summary: "write path at zstd levels 1, 3, 6 (how the default was chosen)",
                  inAll: false, run: writeLevels),
    ]

    // MARK: workload

    /// 16 tracks. Mixed: 10 tracks of 190-byte JSON telemetry, 4 of 48-byte float IMU, 2 of
    /// 1 KiB blobs; or all 16 of 190-byte JSON.
    struct Workload {
        enum Kind { case json, imu, blob }
        let name: String
        let kinds: [Kind]
        let tracks: [TrackInfo]
        let pools: [[[UInt8]]]   // per track kind: a pool of distinct payloads
        /// Distinct payloads per track: 4096 × 190 B is 780 KB per JSON track, more than zstd
        /// level 1's 512 KiB window, so compression sees no verbatim repeats.
        static let poolSize = 4096
        static let baseNs: Int64 = 1_790_000_000_000_000_000

        init(name: String, kinds: [Kind]) {
            self.name = name
            self.kinds = kinds
            tracks = kinds.enumerated().map { i, k in
                switch k {
                case .json: return TrackInfo(identity: "robot-\(i / 4)", name: "telemetry\(i)", frameEncoding: "json")
                case .imu: return TrackInfo(identity: "robot-\(i / 4)", name: "imu\(i)", frameEncoding: "binary")
                case .blob: return TrackInfo(identity: "robot-\(i / 4)", name: "blob\(i)", frameEncoding: "binary")
                }
            }
            var rng = SystemRandomNumberGenerator()
            pools = kinds.enumerated().map { i, k in (0..<Self.poolSize).map { n in Self.payload(k, track: i, n: n, &rng) } }
        }

        static func payload(_ kind: Kind, track: Int, n: Int, _ rng: inout SystemRandomNumberGenerator) -> [UInt8] {
            switch kind {
            case .json:
                let t = 1_790_000_000.0 + Double(n) * 0.01
                func f(_ base: Double, _ spread: Double) -> String { String(format: "%.6f", base + Double.random(in: -spread...spread, using: &rng)) }
                var s = "{\"t\":\(String(format: "%.3f", t)),\"seq\":\(n),\"robot\":\"robot-\(track)\",\"pose\":{\"x\":\(f(12, 3)),\"y\":\(f(-4, 3)),\"z\":\(f(0.5, 0.1))},\"vel\":{\"x\":\(f(0, 1)),\"y\":\(f(0, 1))},\"battery\":\(f(80, 5)),\"state\":\"moving\",\"pad\":\""
                while s.utf8.count < 188 { s += "." }
                s = String(s.prefix(188)) + "\"}"
                return Array(s.utf8.prefix(190))
            case .imu:
                var out: [UInt8] = []
                for axis in 0..<12 {
                    let v = Float(axis == 2 ? 9.81 : 0) + Float.random(in: -0.5...0.5, using: &rng)
                    withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) }
                }
                return out
            case .blob:
                // Image-like rows: smooth gradient plus noise, partly compressible.
                var out = [UInt8](repeating: 0, count: 1024)
                let phase = Int.random(in: 0..<256, using: &rng)
                for j in 0..<1024 { out[j] = UInt8(truncatingIfNeeded: (j / 4 + phase) &+ Int.random(in: 0..<8, using: &rng)) }
                return out
            }
        }

        @inline(__always)
        func frame(_ i: Int) -> (track: Int, payload: [UInt8], timeNs: Int64) {
            let t = i & 15
            return (t, pools[t][(i >> 4 &+ t &* 977) % Self.poolSize], Self.baseNs + Int64(i) * 10_000)
        }

        var rawBytesPerFrame: Double {
            Double(pools.reduce(0) { $0 + $1[0].count }) / Double(pools.count)
        }

        static func mixed() -> Workload {
            Workload(name: "mixed", kinds: Array(repeating: .json, count: 10) + Array(repeating: .imu, count: 4) + [.blob, .blob])
        }
        static func json190() -> Workload { Workload(name: "json190", kinds: Array(repeating: .json, count: 16)) }
    }

    /// One measured case. The machine is shared (2 cores, several builders), so besides wall
    /// time we report process CPU time (user + system, CLOCK_PROCESS_CPUTIME_ID): "frames/s on
    /// one core" is frames per CPU-second. Each case runs `repeats` times; the best run counts.
    struct Figure {
        var label: String
        var frames: Int
        var bytes: Int
        var seconds: Double
        var cpuSeconds: Double
        var peakMiB: Double
        var extra = ""
        var baseMiB = 0.0
        var line: String {
            "  " + label.padding(toLength: 38, withPad: " ", startingAt: 0) +
                String(format: "%9.0f frames/CPU-s %7.1f MB/CPU-s | wall %9.0f frames/s %7.3f s | peak RSS %6.1f MiB (+%.1f)",
                       Double(frames) / cpuSeconds, Double(bytes) / cpuSeconds / 1e6, Double(frames) / seconds, seconds,
                       peakMiB, max(0, peakMiB - baseMiB)) + extra
        }
    }

    nonisolated(unsafe) static var repeats = 3

    static func measure(_ label: String, frames: Int, bytes: Int, _ body: () async throws -> String) async rethrows -> Figure {
        var best: Figure?
        for _ in 0..<max(1, repeats) {
            PeakMemory.reset()
            let base = PeakMemory.currentMiB()
            let c0 = cpuNow(), t0 = ReplayClock.now()
            let extra = try await body()
            let seconds = Double(ReplayClock.now() - t0) / 1e9
            let cpu = cpuNow() - c0
            let f = Figure(label: label, frames: frames, bytes: bytes, seconds: seconds, cpuSeconds: cpu,
                           peakMiB: PeakMemory.peakMiB(), extra: extra, baseMiB: base)
            if best == nil || cpu < best!.cpuSeconds { best = f }
        }
        return best!
    }

    static func cpuNow() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func rawBytes(_ w: Workload, _ frames: Int) -> Int {
        var n = 0
        for i in 0..<min(frames, 16 * Workload.poolSize) { n += w.frame(i).payload.count }
        return frames <= 16 * Workload.poolSize ? n : Int(Double(n) / Double(16 * Workload.poolSize) * Double(frames))
    }

    // MARK: write

    static func writeWithWriter(_ w: Workload, _ frames: Int, level: Int?, path: String) throws -> String {
        let writer = try RecordingWriter(path: path, options: .init(zstdLevel: level, overwrite: true))
        var ids: [Int] = []
        for t in w.tracks { ids.append(try writer.addTrack(t)) }
        for i in 0..<frames {
            let f = w.frame(i)
            try writer.append(track: ids[f.track], receiveTimeNs: f.timeNs, userTimestamp: UInt64(i), payload: f.payload)
        }
        try writer.close()
        let s = try RecordingReader(path: path).summary()
        return String(format: "  ratio %.2fx, %d chunks", s.compressionRatio, s.chunkCount)
    }

    static func writeWithSink(_ w: Workload, _ frames: Int, level: Int, path: String) async throws -> String {
        let sink = RecordingSink(config: .init(path: path, zstdLevel: level, overwrite: true))
        var batch: [Frame] = []
        batch.reserveCapacity(4096)
        for i in 0..<frames {
            let f = w.frame(i)
            batch.append(Frame(track: w.tracks[f.track], payload: f.payload, userTimestamp: UInt64(i), receiveTimeNs: f.timeNs, sequence: UInt64(i)))
            if batch.count == 4096 {
                try await sink.write(Batch(frames: batch))
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try await sink.write(Batch(frames: batch)) }
        try await sink.finish()
        return ""
    }

    /// What the sink figure includes but is not the sink's: building the 4096-frame batches
    /// of `Frame` values (what any upstream stage pays), with nothing consuming them.
    static func buildBatchesOnly(_ w: Workload, _ frames: Int) -> String {
        var batch: [Frame] = []
        batch.reserveCapacity(4096)
        var checksum = 0
        for i in 0..<frames {
            let f = w.frame(i)
            batch.append(Frame(track: w.tracks[f.track], payload: f.payload, userTimestamp: UInt64(i), receiveTimeNs: f.timeNs, sequence: UInt64(i)))
            if batch.count == 4096 {
                checksum &+= batch[4095].payload.count
                batch.removeAll(keepingCapacity: true)
            }
        }
        return checksum == -1 ? "!" : ""
    }

    /// The limit of this machine: the same payload bytes, concatenated per track into
    /// 1 MiB chunks, zstd-compressed with one reused context, each blob inserted into SQLite
    /// (WAL, synchronous=NORMAL, one transaction per chunk). No framing, no index, no pipeline.
    static func limitLoop(_ w: Workload, _ frames: Int, level: Int, path: String) throws -> String {
        unlink(path)
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK else { throw BenchError("cannot open \(path)") }
        defer { sqlite3_close(db) }
        sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE c(id INTEGER PRIMARY KEY, track INTEGER, data BLOB)", nil, nil, nil)
        var stmt: OpaquePointer?
        sqlite3_prepare_v2(db, "INSERT INTO c(track, data) VALUES(?, ?)", -1, &stmt, nil)
        defer { sqlite3_finalize(stmt) }
        let cctx = ZSTD_createCCtx()
        defer { ZSTD_freeCCtx(cctx) }
        var buffers = [[UInt8]](repeating: [], count: 16)
        for i in buffers.indices { buffers[i].reserveCapacity((1 << 20) + 4096) }
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound((1 << 20) + 4096))
        func commit(_ t: Int) {
            let n = buffers[t].withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in ZSTD_compressCCtx(cctx, dst.baseAddress, dst.count, src.baseAddress, src.count, Int32(level)) }
            }
            sqlite3_exec(db, "BEGIN", nil, nil, nil)
            sqlite3_bind_int64(stmt, 1, Int64(t))
            out.withUnsafeBytes { _ = sqlite3_bind_blob(stmt, 2, $0.baseAddress, Int32(n), nil) }
            sqlite3_step(stmt)
            sqlite3_reset(stmt)
            sqlite3_exec(db, "COMMIT", nil, nil, nil)
            buffers[t].removeAll(keepingCapacity: true)
        }
        for i in 0..<frames {
            let f = w.frame(i)
            buffers[f.track].append(contentsOf: f.payload)
            if buffers[f.track].count >= 1 << 20 { commit(f.track) }
        }
        for t in buffers.indices where !buffers[t].isEmpty { commit(t) }
        return ""
    }

    static func write(_ c: BenchContext) async throws {
        // One workload alive at a time (the payload pools are tens of MiB).
        for make in [{ Workload.mixed() }, { Workload.json190() }] {
            let w = make()
            let bytes = rawBytes(w, c.frames)
            print(String(format: "  workload %@: %d frames, %.1f payload bytes/frame avg, zstd level %d",
                         w.name as NSString, c.frames, w.rawBytesPerFrame, c.zstdLevel))
            let limit = try await measure("limit loop (zstd 1 MiB + sqlite)", frames: c.frames, bytes: bytes) {
                try limitLoop(w, c.frames, level: c.zstdLevel, path: c.scratch + "/limit.db")
            }
            let writer = try await measure("RecordingWriter.append", frames: c.frames, bytes: bytes) {
                try writeWithWriter(w, c.frames, level: c.zstdLevel, path: c.scratch + "/\(w.name).tbag")
            }
            let sink = try await measure("recording sink (4096-frame batches)", frames: c.frames, bytes: bytes) {
                try await writeWithSink(w, c.frames, level: c.zstdLevel, path: c.scratch + "/\(w.name)-sink.tbag")
            }
            let batches = await measure("(building Frame batches only)", frames: c.frames, bytes: bytes) {
                buildBatchesOnly(w, c.frames)
            }
            print(limit.line)
            print(writer.line + String(format: "  = %.0f%% of limit", 100 * limit.cpuSeconds / writer.cpuSeconds))
            print(sink.line + String(format: "  = %.0f%% of limit", 100 * limit.cpuSeconds / sink.cpuSeconds))
            print(batches.line + String(format: "  (sink minus batch building = %.0f%% of limit)",
                                        100 * limit.cpuSeconds / max(1e-9, sink.cpuSeconds - batches.cpuSeconds)))
            for f in ["/limit.db", "/limit.db-wal", "/limit.db-shm", "/\(w.name)-sink.tbag"] { unlink(c.scratch + f) }
        }
    }

    static func writeLevels(_ c: BenchContext) async throws {
        let w = Workload.mixed()
        let bytes = rawBytes(w, c.frames)
        for level in [1, 3, 6] {
            let f = try await measure("RecordingWriter zstd \(level)", frames: c.frames, bytes: bytes) {
                try writeWithWriter(w, c.frames, level: level, path: c.scratch + "/level\(level).tbag")
            }
            print(f.line)
            unlink(c.scratch + "/level\(level).tbag")
        }
    }

    // MARK: read

    static func read(_ c: BenchContext) async throws {
        let path = c.scratch + "/mixed.tbag"
        if !FileManager.default.fileExists(atPath: path) {
            _ = try writeWithWriter(Workload.mixed(), c.frames, level: c.zstdLevel, path: path)
        }
        let reader = try RecordingReader(path: path)
        let frames = Int(try reader.summary().frameCount)
        let bytes = Int(try reader.summary().rawBytes)
        let owned = try await measure("merge read, owned frames (next)", frames: frames, bytes: bytes) {
            let cursor = try reader.frames()
            var n = 0, sum = 0
            while let f = try cursor.next() { n += 1; sum &+= f.payload.count }
            return "  (\(n) frames)"
        }
        let visit = try await measure("merge read, borrowed payloads", frames: frames, bytes: bytes) {
            let cursor = try reader.frames()
            var n = 0, sum = 0
            while try cursor.advance() { n += 1; sum &+= cursor.withCurrentPayload { $0.count } }
            return "  (\(n) frames)"
        }
        let source = try await measure("recording source, fast pace", frames: frames, bytes: bytes) {
            let counter = CountingEmitter()
            try await RecordingSource(config: .init(path: path)).run(into: counter)
            return "  (\(await counter.frames) frames)"
        }
        print(owned.line)
        print(visit.line)
        print(source.line)
    }

    // MARK: pacing

    static func pacing(_ c: BenchContext) async throws {
        let path = c.scratch + "/pacing.tbag"
        let frames = Int(c.seconds * 1000)
        let writer = try RecordingWriter(path: path, options: .init(overwrite: true))
        let t = try writer.addTrack(TrackInfo(identity: "robot", name: "imu"))
        for i in 0..<frames {
            try writer.append(track: t, receiveTimeNs: Workload.baseNs + Int64(i) * 1_000_000, userTimestamp: UInt64(i), payload: [UInt8](repeating: 7, count: 48))
        }
        try writer.close()

        // Baseline: a bare loop of absolute clock_nanosleep deadlines, no reader, no pipeline.
        PeakMemory.reset()
        var bare = ReplayClock()
        for i in 0..<frames { bare.wait(until: Int64(i) * 1_000_000) }
        print("  bare absolute-deadline loop        " + PacingReport(bare.lateness).description)

        PeakMemory.reset()
        let box = ReportBox()
        var source = try RecordingSource(config: .init(path: path, pace: .original, batchFrames: 4096))
        source.onPacingReport = { report in box.set(report) }
        let counter = CountingEmitter()
        let t0 = ReplayClock.now()
        try await source.run(into: counter)
        let elapsed = Double(ReplayClock.now() - t0) / 1e9
        print("  recording source, original pace   " + (box.get()?.description ?? "no report")
              + String(format: "; %.3f s for %.3f s of recording, %d frames emitted, peak RSS %.1f MiB",
                       elapsed, Double(frames - 1) / 1000, await counter.frames, PeakMemory.peakMiB()))
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A null sink for sources: counts and drops.
actor CountingEmitter: BatchEmitter {
    var frames = 0
    nonisolated func emit(_ batch: Batch) async throws { await add(batch.frames.count) }
    func add(_ n: Int) { frames += n }
}

final class ReportBox: @unchecked Sendable {
    private let lock = NSLock()
    private var report: PacingReport?
    func set(_ r: PacingReport) { lock.withLock { report = r } }
    func get() -> PacingReport? { lock.withLock { report } }
}
