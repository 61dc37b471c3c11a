import Synthetic
import Foundation
import MCAP
import Pipeline
import Recording
import Stages
import Synchronization
import TrackModel

/// `trackbag-bench mcap`: MCAP export and import throughput against the `mcap` Python library
/// in the same run. Frames: `frames` frames round-robin over 16 tracks (tracks 0-5
/// 190-byte JSON, 6-10 48-byte IMU, 11-15 1 KiB blobs), every frame with a user timestamp.
///
/// - export: frames through the `mcap` sink stage (zstd level 1, 1 MiB chunks, CRCs), once with
///   `user_timestamp_unit: ns` (one message per frame, as the Python baseline writes) and once
///   with the default mapping (companion timestamp messages: two records per frame);
/// - import: the `mcap` source stage reading the first file with CRC validation;
/// - codec only: `MCAPWriter` / `MCAPReader` without stages;
/// - baseline: scripts/bench/mcap_bench.py with the same mix (Writer zstd, SeekingReader with
///   validate_crcs). Figures are printed, never asserted.
enum MCAPBench {
    static let cases: [BenchCase] = [
        BenchCase(name: "mcap", summary: "MCAP export/import of 2 M mixed frames vs the mcap Python library") { context in
            try await run(frames: context.frames, directory: context.scratch + "/mcap")
        },
    ]

    static func run(frames: Int = 2_000_000, python: String = ".venv-peers/bin/python",
                    script: String = "scripts/bench/mcap_bench.py", directory: String? = nil) async throws {
        let dir = directory ?? (NSTemporaryDirectory() + "trackbag-mcap-bench-\(getpid())")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        let mix = FrameMix()
        print("mcap bench: \(frames) frames over 16 tracks (190 B JSON / 48 B IMU / 1 KiB blobs), "
              + "\(fmt(Double(mix.payloadBytes(frames)) / 1e6)) MB payload")

        let unitPath = dir + "/unit-ns.mcap"
        let export = try await timeExport(mix, frames: frames, path: unitPath, unit: "ns")
        let companion = try await timeExport(mix, frames: frames, path: dir + "/default.mcap", unit: nil)
        try? FileManager.default.removeItem(atPath: dir + "/default.mcap")
        let imp = try await timeImport(path: unitPath, frames: frames)
        let codecWrite = try timeCodecWrite(mix, frames: frames, path: dir + "/codec.mcap")
        let codecLZ4 = try timeCodecWrite(mix, frames: frames, path: dir + "/codec-lz4.mcap", compression: .lz4)
        let codecNone = try timeCodecWrite(mix, frames: frames, path: dir + "/codec-none.mcap", compression: .none)
        try? FileManager.default.removeItem(atPath: dir + "/codec-lz4.mcap")
        try? FileManager.default.removeItem(atPath: dir + "/codec-none.mcap")
        let codecRead = try timeCodecRead(path: dir + "/codec.mcap", frames: frames)
        try? FileManager.default.removeItem(atPath: dir + "/codec.mcap")
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: unitPath)[.size] as? Int) ?? 0
        try? FileManager.default.removeItem(atPath: unitPath)

        let payload = Double(mix.payloadBytes(frames))
        func line(_ name: String, _ t: Timing) -> String {
            "  \(name.padding(toLength: 50, withPad: " ", startingAt: 0))"
                + " wall \(fmt(t.wall, 3)) s \(pad(Int(Double(frames) / t.wall))) frames/s \(pad(fmt(payload / t.wall / 1e6), 6)) MB/s"
                + " | cpu \(fmt(t.cpu, 3)) s \(pad(Int(Double(frames) / t.cpu))) frames/s \(pad(fmt(payload / t.cpu / 1e6), 6)) MB/s"
        }
        print("  (wall = elapsed time; cpu = process user+system time (the kernel's exact run time, so")
        print("   the per-core figure on a shared, oversubscribed machine); MB/s = payload bytes)")
        print(line("trackbag export (mcap sink, unit ns)", export))
        print(line("trackbag export (mcap sink, default mapping)", companion))
        print(line("trackbag import (mcap source, CRCs checked)", imp))
        print(line("trackbag MCAPWriter only (zstd)", codecWrite))
        print(line("trackbag MCAPWriter only (lz4)", codecLZ4))
        print(line("trackbag MCAPWriter only (no compression)", codecNone))
        print(line("trackbag MCAPReader only (CRCs checked)", codecRead))
        print("  file: \(fmt(Double(fileBytes) / 1e6)) MB (zstd level 1)")

        // The baseline, same run, same frame mix.
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: python)
        proc.arguments = [script, String(frames), dir + "/python.mcap"]
        let pipe = Pipe()
        proc.standardOutput = pipe
        do {
            try proc.run()
        } catch {
            print("  python mcap baseline: could not start \(python): \(error)")
            return
        }
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        proc.waitUntilExit()
        guard proc.terminationStatus == 0,
              let obj = try? JSONSerialization.jsonObject(with: out) as? [String: Any],
              let pw = obj["write_s"] as? Double, let pr = obj["read_s"] as? Double,
              let pwc = obj["write_cpu_s"] as? Double, let prc = obj["read_cpu_s"] as? Double else {
            print("  python mcap baseline failed (status \(proc.terminationStatus))")
            return
        }
        let pfile = (obj["file_bytes"] as? Int) ?? 0
        let pyWrite = Timing(wall: pw, cpu: pwc, sys: obj["write_sys_s"] as? Double)
        let pyRead = Timing(wall: pr, cpu: prc, sys: obj["read_sys_s"] as? Double)
        print(line("python mcap 1.6.0 Writer (zstd)", pyWrite))
        print(line("python mcap 1.6.0 SeekingReader (validate_crcs)", pyRead))
        print("  python file: \(fmt(Double(pfile) / 1e6)) MB")
        print("  speedup vs python (wall | cpu): export \(fmt(pw / export.wall, 1))x | \(fmt(pwc / export.cpu, 1))x, "
              + "import \(fmt(pr / imp.wall, 1))x | \(fmt(prc / imp.cpu, 1))x")
    }

    /// Payload pools (1024 per kind) and 16 tracks, built before any clock starts.
    struct FrameMix {
        var tracks: [TrackInfo] = []
        var pools: [[[UInt8]]] = []   // [kind][i]
        var kinds: [Int] = []         // per track: 0 json, 1 imu, 2 blob

        init() {
            var rng = SplitMix64(seed: 42)
            var json: [[UInt8]] = [], imu: [[UInt8]] = [], blob: [[UInt8]] = []
            for i in 0..<1024 {
                func f() -> String { String(format: "%.6f", Double(rng.next() % 1_000_000) / 1e6) }
                var s = "{\"t\":\(i),\"pos\":{\"x\":\(f()),\"y\":\(f()),\"z\":\(f())},\"vel\":{\"x\":\(f()),\"y\":\(f())},\"status\":\"ok\",\"note\":\""
                s += String(repeating: "n", count: max(0, 190 - s.utf8.count - 2)) + "\"}"
                json.append(Array(s.utf8.prefix(190)))
                imu.append((0..<48).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
                blob.append((0..<1024).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            }
            pools = [json, imu, blob]
            for t in 0..<16 {
                let kind = t < 6 ? 0 : (t < 11 ? 1 : 2)
                kinds.append(kind)
                tracks.append(TrackInfo(identity: "bench", name: "track\(t)", sid: "DTR_bench\(t)",
                                        pubHandle: UInt16(t + 1), frameEncoding: kind == 0 ? "json" : nil))
            }
        }

        /// Frame i's payload: the n-th frame of its kind takes pool entry n % 1024, so a 1 MiB
        /// chunk never holds the same payload twice (no free compression from repeats).
        func payload(_ i: Int) -> [UInt8] {
            let t = i % 16
            let (first, count) = [(0, 6), (6, 5), (11, 5)][kinds[t]]
            return pools[kinds[t]][((i / 16) * count + (t - first)) % 1024]
        }

        func payloadBytes(_ frames: Int) -> Int {
            (0..<16).reduce(0) { sum, t in
                let n = frames / 16 + (t < frames % 16 ? 1 : 0)
                return sum + n * [190, 48, 1024][kinds[t]]
            }
        }

        static let base: Int64 = 1_750_000_000_000_000_000

        /// A ring of reusable batches; `fill` stamps times so they never repeat.
        func makeRing(batchSize: Int) -> [Batch] {
            (0..<16).map { r in
                Batch(frames: (0..<batchSize).map { j in
                    let i = r * batchSize + j
                    return Frame(track: tracks[i % 16], payload: payload(i), userTimestamp: 0, receiveTimeNs: 0)
                })
            }
        }
    }

    private static func timeExport(_ mix: FrameMix, frames: Int, path: String, unit: String?) async throws -> Timing {
        let batchSize = 4096
        var ring = mix.makeRing(batchSize: batchSize)
        let sink = try MCAPSink(config: MCAPSinkConfig(path: path, userTimestampUnit: unit))
        let start = Stopwatch()
        var i = 0
        var r = 0
        while i < frames {
            let n = min(batchSize, frames - i)
            if ring[r].frames.count != n { ring[r].frames.removeLast(ring[r].frames.count - n) }
            for j in 0..<n {
                let t = FrameMix.base + Int64(i + j) * 1000
                ring[r].frames[j].receiveTimeNs = t
                ring[r].frames[j].userTimestamp = UInt64(t - 500)
            }
            try await sink.write(ring[r])
            i += n
            r = (r + 1) % ring.count
        }
        try await sink.finish()
        return start.stop()
    }

    private static func timeImport(path: String, frames: Int) async throws -> Timing {
        let counter = MCAPBenchFrameCounter()
        let source = try MCAPSource(config: MCAPSourceConfig(path: path))
        let start = Stopwatch()
        try await source.run(into: counter)
        let elapsed = start.stop()
        let n = counter.count.withLock { $0 }
        guard n == frames else { throw MCAPError(.malformed, "import read \(n) frames, expected \(frames)") }
        return elapsed
    }

    private static func timeCodecWrite(_ mix: FrameMix, frames: Int, path: String,
                                       compression: MCAP.Compression = .zstd) throws -> Timing {
        let start = Stopwatch()
        let writer = try MCAPWriter(path: path, options: .init(compression: compression))
        var ids: [UInt16] = []
        for t in mix.tracks {
            ids.append(try writer.addChannel(topic: "/\(t.identity)/\(t.name)", messageEncoding: t.frameEncoding ?? ""))
        }
        for i in 0..<frames {
            let t = UInt64(FrameMix.base) + UInt64(i) * 1000
            try writer.addMessage(channelId: ids[i % 16], sequence: UInt32(truncatingIfNeeded: i), logTime: t,
                                  publishTime: t - 500, data: mix.payload(i))
        }
        try writer.finish()
        return start.stop()
    }

    private static func timeCodecRead(path: String, frames: Int) throws -> Timing {
        let start = Stopwatch()
        let reader = try MCAPReader(path: path)
        var n = 0
        while let r = try reader.next() {
            if case .message = r { n += 1 }
        }
        guard n == frames else { throw MCAPError(.malformed, "read \(n) messages, expected \(frames)") }
        return start.stop()
    }

    /// Wall-clock and process CPU time (user + system) of one phase. The machine is shared, so
    /// CPU time is the fairer "one core" figure; both are printed.
    struct Timing {
        var wall: Double
        var cpu: Double
        /// The kernel's part of `cpu`; Linux splits user/system by tick sampling, so it is
        /// only indicative and not printed.
        var sys: Double?
    }

    struct Stopwatch {
        let wall = ContinuousClock.now
        let cpu = processCPUSeconds()
        func stop() -> Timing {
            let now = processCPUSeconds()
            return Timing(wall: seconds(ContinuousClock.now - wall), cpu: now.total - cpu.total, sys: now.sys - cpu.sys)
        }
    }

    static func processCPUSeconds() -> (total: Double, sys: Double) {
        var u = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &u)
        let user = Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6
        let sys = Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
        return (user + sys, sys)
    }

    private static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    private static func fmt(_ v: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", v) }
    private static func pad(_ v: Int) -> String { pad(String(v), 8) }
    private static func pad(_ s: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - s.count)) + s
    }
}

/// Counts what a source emits.
private final class MCAPBenchFrameCounter: BatchEmitter {
    let count = Mutex(0)
    func emit(_ batch: Batch) async throws {
        count.withLock { $0 += batch.frames.count }
    }
}

