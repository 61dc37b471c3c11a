import ArgumentParser
import Foundation

/// `trackbag-bench CASE…`: micro-benchmarks that print figures side by side with their baseline
/// in the same run (never asserted). Build with `swift build -c release` first. System
/// benchmarks (live rooms, replay fidelity, data channels) are scripts under `scripts/`.
///
/// Extension point: a benchmark is a `BenchCase` in `BenchCase.all`; add yours from its own file
/// in this folder.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trackbag-bench",
        abstract: "Run benchmarks: " + BenchCase.all.map(\.name).joined(separator: ", ") + ", or all.")

    @Argument(help: "Cases to run (default: all).")
    var cases: [String] = ["all"]

    @Option(help: "Frames for the write/read benchmarks.")
    var frames = 2_000_000

    @Option(help: "Seconds of 1 kHz replay for the pacing benchmark.")
    var seconds = 10.0

    @Option(help: "zstd level for the write/read benchmarks.")
    var zstdLevel = 1

    @Option(help: "Runs per write/read case; the best (least CPU) counts.")
    var repeats = 3

    @Option(help: "Scratch directory (files are removed afterwards).")
    var dir = FileManager.default.temporaryDirectory.path

    func run() async throws {
        let known = Set(BenchCase.all.map(\.name))
        let wanted = cases.contains("all") ? BenchCase.all.filter(\.inAll).map(\.name) : cases
        for name in wanted where !known.contains(name) {
            throw ValidationError("unknown benchmark '\(name)' (known: \(BenchCase.all.map(\.name).joined(separator: ", ")), all)")
        }
        let scratch = URL(fileURLWithPath: dir).appendingPathComponent("trackbag-bench-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        RecordingBenchmarks.repeats = repeats
        let context = BenchContext(frames: frames, seconds: seconds, zstdLevel: zstdLevel, scratch: scratch.path)
        #if DEBUG
        print("note: this is a debug build; figures are only meaningful from `swift build -c release`")
        #endif
        for c in BenchCase.all where wanted.contains(c.name) {
            print("== \(c.name): \(c.summary)")
            try await c.run(context)
            print("")
        }
    }
}

/// What every benchmark case gets.
struct BenchContext: Sendable {
    var frames: Int
    var seconds: Double
    var zstdLevel: Int
    /// A directory of its own, removed after the run.
    var scratch: String
}

/// One benchmark: a name for the command line, what it measures, and its body, which prints.
struct BenchCase: Sendable {
    var name: String
    var summary: String
    /// Part of `bench all`.
    var inAll = true
    var run: @Sendable (BenchContext) async throws -> Void

    /// Every benchmark. Others append their cases here (one line each).
    static let all: [BenchCase] = RecordingBenchmarks.cases + PipelineBench.cases + DataTrackBench.cases + MCAPBench.cases + DecodeBench.cases
}

/// Peak resident memory per case: VmHWM from /proc/self/status, reset between cases by
/// writing 5 to /proc/self/clear_refs (Linux ≥ 4.0, proc(5)).
enum PeakMemory {
    static func reset() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    static func peakMiB() -> Double { field("VmHWM:") }
    static func currentMiB() -> Double { field("VmRSS:") }

    static func field(_ name: String) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix(name) {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kb / 1024
        }
        return 0
    }
}
