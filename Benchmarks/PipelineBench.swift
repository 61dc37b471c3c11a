import Foundation
import Pipeline
import Recording
import Stages
import TrackModel

/// `trackbag-bench pipeline`: the offline reference pipeline (recording → decode(json) →
/// filter → downsample → recording) with per-stage frames/s, the same graph without file I/O,
/// each stage alone in CPU time, and the runtime's own cost per hop (a source re-emitting one
/// shared batch → null sink, directly and through pass-through transforms). Figures are
/// printed, never asserted.
enum PipelineBench {
    /// Hooked into `BenchCase.all` (Bench.swift).
    static let cases: [BenchCase] = [
        BenchCase(name: "pipeline",
                  summary: "recording → decode(json) → filter → downsample → recording, per stage; runtime hop cost",
                  run: { context in try await run(frames: context.frames, scratch: context.scratch) }),
    ]

    /// Writes `frames` synthetic telemetry frames to a .tbag (through the `recording` sink), then
    /// runs the offline pipeline on it into a second .tbag, then the stages alone and the hops.
    static func run(frames: Int, scratch: String) async throws {
        let input = scratch + "/pipeline-in.tbag", output = scratch + "/pipeline-out.tbag"
        var make = PipelineGraph()
        make.addSource("synthetic", SyntheticSource(total: frames, batchSize: 1024), type: "synthetic")
        make.addSink("recording", RecordingSink(config: .init(path: input, overwrite: true)), inputs: ["synthetic"], type: "recording")
        let made = try await make.run()
        print(String(format: "input: %d frames of 190-byte JSON telemetry on 8 tracks written to %@ in %.3f s",
                     frames, input, made.elapsedSeconds))
        var endToEnd: [(String, Double)] = []
        for selective in [false, true] {
            print("\n== recording → decode(json) → filter → downsample → recording, \(selective ? "selective decode (what filter reads)" : "full decode (baseline)") ==")
            let (rate, _) = try await pipeline(source: RecordingSource(config: .init(path: input, pace: .fast)), sourceType: "recording",
                                               sink: RecordingSink(config: .init(path: output, overwrite: true)), sinkType: "recording",
                                               selective: selective)
            try verifyOutput(output, inputFrames: frames)
            endToEnd.append(("recording → recording, " + (selective ? "selective" : "full     "), rate))
        }
        try? FileManager.default.removeItem(atPath: input)
        try? FileManager.default.removeItem(atPath: output)

        for selective in [false, true] {
            print("\n== the same pipeline from an in-memory synthetic source into a null sink (no file I/O), \(selective ? "selective" : "full") decode ==")
            let (rate, passed) = try await pipeline(source: SyntheticSource(total: frames, batchSize: 1024), sourceType: "synthetic",
                                                    sink: NullSink(), sinkType: "null", selective: selective)
            let expected = expectedOutput(inputFrames: frames)
            guard passed == expected else {
                throw BenchFailure("synthetic → null passed \(passed) frames to the sink; filter + downsample must pass \(expected)")
            }
            endToEnd.append(("synthetic → null,        " + (selective ? "selective" : "full     "), rate))
        }
        print("\n== end to end, side by side (wall) ==")
        for (name, rate) in endToEnd { print(String(format: "%@  %10.0f frames/s", name, rate)) }

        print("\n== each stage alone, one task, CPU time (independent of other load on the machine) ==")
        try await stagesAlone()
        try await hops()
    }

    /// What filter (`value.accel.z > 9.5 && track != "never"`) then downsample (500 Hz per
    /// track) must pass of the first `inputFrames` synthetic frames, worked out here from how
    /// `syntheticFrame` makes them, without the stages.
    static func expectedOutput(inputFrames: Int) -> Int {
        var lastKept = [Int64?](repeating: nil, count: tracks.count)
        var passed = 0
        for i in 0..<inputFrames {
            guard 9.0 + Double(i % 100) / 100 > 9.5 else { continue }
            let time = Int64(i / 8) * 1_000_000
            if let last = lastKept[i % 8], time - last < 2_000_000 { continue }
            lastKept[i % 8] = time
            passed += 1
        }
        return passed
    }

    /// Reads the pipeline's output recording back: it must hold exactly the frames filter and
    /// downsample pass, each with the payload, user timestamp, receive time and track that
    /// `syntheticFrame` gave it (the user timestamp is the frame's index).
    static func verifyOutput(_ path: String, inputFrames: Int) throws {
        let reader = try RecordingReader(path: path)
        let infos = Dictionary(uniqueKeysWithValues: reader.tracks.map { ($0.id, $0.info) })
        let cursor = try reader.frames()
        var count = 0
        while try cursor.advance() {
            guard let i = cursor.currentUserTimestamp.map(Int.init) else {
                throw BenchFailure("output frame \(count) lost its user timestamp")
            }
            let want = syntheticFrame(i)
            let same = cursor.withCurrentPayload { got in
                want.payload.withUnsafeBytes { $0.count == got.count && memcmp($0.baseAddress!, got.baseAddress!, got.count) == 0 }
            }
            guard same, cursor.currentReceiveTimeNs == want.receiveTimeNs, infos[cursor.currentTrackID]?.key == want.track.key else {
                throw BenchFailure("output frame \(count) (user timestamp \(i)) differs from input frame \(i)")
            }
            count += 1
        }
        let expected = expectedOutput(inputFrames: inputFrames)
        guard count == expected else {
            throw BenchFailure("the output recording holds \(count) frames; filter + downsample must pass \(expected)")
        }
        print("output verified: \(count) frames, each with its input's payload, user timestamp, receive time and track")
    }

    /// Runs the reference pipeline and returns its end-to-end frames/s (wall). Without
    /// `selective` the filter is wrapped to declare that it reads the whole value, so `decode`
    /// builds every frame's full tree as it did before selective decoding.
    /// Also returns the frames that reached the sink.
    @discardableResult
    static func pipeline(source: any SourceStage, sourceType: String, sink: any SinkStage, sinkType: String,
                         selective: Bool = true) async throws -> (framesPerSecond: Double, sunk: UInt64) {
        var graph = PipelineGraph()
        graph.addSource("in", source, type: sourceType)
        graph.addTransform("decode", Decode(config: .init(encoding: .json, onError: .pass)), inputs: ["in"], type: "decode")
        let filter = try Filter(config: .init(condition: #"value.accel.z > 9.5 && track != "never""#))
        let filterStage: any TransformStage = selective ? filter : ReadsWholeValue(inner: filter)
        graph.addTransform("filter", filterStage, inputs: ["decode"], type: "filter")
        graph.addTransform("downsample", Downsample(config: .init(rule: .maxRateHz(500))), inputs: ["filter"], type: "downsample")
        graph.addSink("out", sink, inputs: ["downsample"], type: sinkType)
        let rssBefore = PeakMemory.currentMiB()
        PeakMemory.reset()
        let cpuBefore = processCPUSeconds()
        let report = try await graph.run()
        let cpu = processCPUSeconds() - cpuBefore
        print(report.formatted())
        let inFrames = report.stages.first?.counters.framesOut ?? 0
        print(String(format: "end to end: %llu frames in %.3f s wall = %.0f frames/s; %.3f s CPU (all threads) = %.0f frames per CPU-second; peak RSS %.1f MiB (%.1f MiB before the run)",
                     inFrames, report.elapsedSeconds, Double(inFrames) / report.elapsedSeconds, cpu, Double(inFrames) / cpu,
                     PeakMemory.peakMiB(), rssBefore))
        print("(frames/s busy = frames in / wall time inside the stage's own code; on a loaded machine it includes time the thread was descheduled)")
        return (Double(inFrames) / report.elapsedSeconds, report.stages.last?.counters.framesIn ?? 0)
    }

    static func hops() async throws {
        print("\n== runtime hop cost: source re-emitting one shared batch → [pass-through transforms] → null sink ==")
        for batchSize in [1, 16, 256, 1024] {
            let total = batchSize == 1 ? 200_000 : (batchSize == 16 ? 4_000_000 : 40_000_000)
            for hops in [0, 3] {
                let (seconds, cpu) = try await hop(total: total, batchSize: batchSize, passThroughHops: hops)
                print(String(format: "batch %5d, %d pass-through transforms: %11.0f frames/s wall, %8.0f batches/s per edge; %.2f µs CPU per batch per hop  (%d frames, %.3f s wall, %.3f s CPU)",
                             batchSize, hops, Double(total) / seconds, Double(total / batchSize) / seconds,
                             cpu / Double(total / batchSize * (hops + 1)) * 1e6, total, seconds, cpu))
            }
        }
    }

    static let tracks = (0..<8).map { TrackInfo(identity: "robot-\($0 / 4)", name: "telemetry-\($0 % 4)", frameEncoding: "json") }

    /// 100 distinct 190-byte JSON telemetry payloads (accel.z from 9.00 to 9.99), shared by
    /// the frames that use them, so the synthetic source's memory stays flat.
    static let payloads: [[UInt8]] = (0..<100).map { k in
        let z = 9.0 + Double(k) / 100
        var text = #"{"seq":\#(k),"pos":{"x":12.3456,"y":-7.891,"z":0.25},"vel":{"x":0.5,"y":0.01,"z":0},"accel":{"x":0.01,"y":-0.02,"z":\#(z)},"battery":0.87,"mode":"auto","#
        text += #""pad":""# + String(repeating: "x", count: max(0, 190 - text.utf8.count - 9)) + #""}"#
        return Array(text.utf8)
    }

    /// Frame `i` of the synthetic stream: 8 tracks at 1 kHz each.
    @inline(__always)
    static func syntheticFrame(_ i: Int) -> Frame {
        Frame(track: tracks[i % 8], payload: payloads[i % 100], userTimestamp: UInt64(i),
              receiveTimeNs: 1_700_000_000_000_000_000 + Int64(i / 8) * 1_000_000, sequence: UInt64(i))
    }

    static func syntheticFrames(count: Int) -> [Frame] { (0..<count).map(syntheticFrame) }

    static func hop(total: Int, batchSize: Int, passThroughHops: Int) async throws -> (wall: Double, cpu: Double) {
        let frames = syntheticFrames(count: batchSize)
        var graph = PipelineGraph()
        graph.addSource("in", RepeatingSource(batch: Batch(frames: frames), total: total))
        var previous = "in"
        for i in 0..<passThroughHops {
            graph.addTransform("pass\(i)", PassThrough(), inputs: [previous])
            previous = "pass\(i)"
        }
        graph.addSink("null", NullSink(), inputs: [previous])
        let start = DispatchTime.now().uptimeNanoseconds
        let cpu = processCPUSeconds()
        try await graph.run()
        return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, processCPUSeconds() - cpu)
    }

    /// Each transform driven directly (no queues) over the same 1024-frame batches, timed in
    /// process CPU seconds, so the figure does not depend on what else the machine runs.
    static func stagesAlone() async throws {
        let batches = (0..<200).map { b in Batch(frames: (0..<1024).map { syntheticFrame(b * 1024 + $0) }) }
        let frames = Double(batches.count * 1024)
        let decode = Decode(config: .init(encoding: .json, onError: .pass))
        var decoded: [Batch] = []
        var cpu = processCPUSeconds()
        for batch in batches { decoded.append(try await decode.process(batch)) }
        cpu = processCPUSeconds() - cpu
        print(String(format: "decode(json)     %10.0f frames per CPU-second (%.2f µs/frame), full value", frames / cpu, cpu / frames * 1e6))
        let filter = try Filter(config: .init(condition: #"value.accel.z > 9.5 && track != "never""#))
        let selective = Decode(config: .init(encoding: .json, onError: .pass))
        await selective.produce(for: filter.valueReads)
        var selected = 0
        cpu = processCPUSeconds()
        for batch in batches { selected += try await selective.process(batch).frames.count }
        cpu = processCPUSeconds() - cpu
        print(String(format: "decode(json)     %10.0f frames per CPU-second (%.2f µs/frame), selective: only value.accel.z (%d frames)",
                     frames / cpu, cpu / frames * 1e6, selected))
        var kept = 0
        cpu = processCPUSeconds()
        for batch in decoded { kept += try await filter.process(batch).frames.count }
        cpu = processCPUSeconds() - cpu
        print(String(format: "filter           %10.0f frames per CPU-second (%.2f µs/frame, kept %d)", frames / cpu, cpu / frames * 1e6, kept))
        let downsample = Downsample(config: .init(rule: .maxRateHz(500)))
        kept = 0
        cpu = processCPUSeconds()
        for batch in decoded { kept += try await downsample.process(batch).frames.count }
        cpu = processCPUSeconds() - cpu
        print(String(format: "downsample       %10.0f frames per CPU-second (%.2f µs/frame, kept %d)", frames / cpu, cpu / frames * 1e6, kept))
        let path = NSTemporaryDirectory() + "trackbag-bench-\(getpid()).jsonl"
        let sink = JSONLinesSink(config: .init(path: path))
        cpu = processCPUSeconds()
        for batch in decoded { try await sink.write(batch) }
        try await sink.finish()
        cpu = processCPUSeconds() - cpu
        print(String(format: "jsonl sink       %10.0f frames per CPU-second (%.2f µs/frame, with value)", frames / cpu, cpu / frames * 1e6))
        let reader = try JSONLinesReader(path: path)
        var read = 0
        cpu = processCPUSeconds()
        while try reader.next() != nil { read += 1 }
        cpu = processCPUSeconds() - cpu
        print(String(format: "jsonl source     %10.0f frames per CPU-second (%.2f µs/frame, %d frames)", Double(read) / cpu, cpu / Double(read) * 1e6, read))
        try? FileManager.default.removeItem(atPath: path)
    }

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

}

/// Makes synthetic telemetry frames batch by batch (payloads shared), so memory stays flat
/// however many frames are asked for.
struct SyntheticSource: SourceStage {
    let total: Int
    let batchSize: Int
    func run(into output: any BatchEmitter) async throws {
        var i = 0
        while i < total {
            let end = min(i + batchSize, total)
            try await output.emit(Batch(frames: (i..<end).map(PipelineBench.syntheticFrame)))
            i = end
        }
    }
}

/// Emits the same batch (shared storage, no per-frame work) until `total` frames: measures
/// the runtime's own cost per hop.
struct RepeatingSource: SourceStage {
    let batch: Batch
    let total: Int
    func run(into output: any BatchEmitter) async throws {
        var sent = 0
        while sent < total {
            try await output.emit(batch)
            sent += batch.frames.count
        }
    }
}

/// Forwards to `inner` but declares that it reads the whole value: the full-decode baseline.
struct ReadsWholeValue: TransformStage {
    let inner: any TransformStage
    func process(_ batch: consuming Batch) async throws -> Batch { try await inner.process(batch) }
    var valueReads: ValueReads { .all }
}

struct PassThrough: TransformStage {
    func process(_ batch: consuming Batch) async throws -> Batch { batch }
}

/// A run whose output is not what the stages must produce: the figures would mean nothing.
struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

struct NullSink: SinkStage {
    func write(_ batch: Batch) async throws {}
    func finish() async throws {}
}
