import ArgumentParser
import Foundation
import Logging
import MCAP
import Pipeline
import Recording
import Stages
import TrackModel

/// `trackbag import FILE.jsonl|FILE.mcap|BAG --out FILE.tbag`: the format's source into the
/// `recording` sink. A rosbag2 bag (its directory, its metadata.yaml or a .db3 file) goes
/// through the `rosbag2` source (docs/rosbag2.md).
struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import JSON lines, MCAP or a ROS 2 bag (rosbag2) into a .tbag recording.")

    @Argument(help: "A .jsonl or .mcap file, or a rosbag2 bag: its directory, its metadata.yaml, or a .db3 file.")
    var file: String

    @Option(help: "The .tbag file to write.")
    var out: String

    @Flag(help: "Replace the output file if it exists.")
    var overwrite = false

    @Option(help: "MCAP and rosbag2: publisher identity for topics that name none (`/imu`, `imu`); default mcap, ros2 for a bag.")
    var identity: String?

    @Flag(name: .customLong("allow-truncated"),
          help: "MCAP only: import what is readable from a file that ends early, with a note event, instead of failing.")
    var allowTruncated = false

    @Option(help: "MCAP only: message order, file (default: file order, one chunk in memory) or log-time (by log_time through the chunk index, as MCAP's indexed readers).")
    var order = "file"

    @OptionGroup var logging: LogOptions

    func run() async throws {
        logging.bootstrap()
        var graph = PipelineGraph()
        let lower = file.lowercased()
        var meta: [String: String] = [:]
        if Rosbag2Layout.looksLikeBag(file) {
            do {
                graph.addSource("input", try Rosbag2Source(config: .init(path: file, identity: identity ?? "ros2")),
                                type: "rosbag2")
            } catch let error as PipelineError {
                printErrors(error)
                throw ExitCode(1)
            }
        } else if lower.hasSuffix(".mcap") {
            let identity = identity ?? "mcap"
            let readOrder: MCAPReader.Order
            do {
                readOrder = try MCAPSourceConfig.order(order)
            } catch let error as PipelineError {
                throw ValidationError("--order: \(error.message.replacingOccurrences(of: "order: ", with: ""))")
            }
            // What export needs to write the file's channels back as they were.
            meta = (try? MCAPChannelOrigin.importMeta(path: file, identity: identity)) ?? [:]
            graph.addSource("input", try MCAPExportTarget.source(path: file, identity: identity,
                                                                 allowTruncated: allowTruncated, order: readOrder),
                            type: "mcap")
        } else if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") || lower.hasSuffix(".json") {
            graph.addSource("input", JSONLinesSource(config: .init(path: file)), type: "jsonl")
        } else {
            throw ValidationError("\(file): unknown input format (expected .jsonl or .mcap)")
        }
        graph.addSink("recording", RecordingSink(config: .init(path: out, overwrite: overwrite, meta: meta)),
                      inputs: ["input"], type: "recording")
        let existed = FileManager.default.fileExists(atPath: out)
        do {
            try await runConversion(graph, verb: "import", describing: "\(file) → \(out)")
        } catch {
            // The sink still closes a valid file of the frames read before the input failed;
            // a failed import must not leave that looking like a whole import (--allow-truncated
            // is how to keep what a damaged MCAP holds). A file that was there before is the
            // sink's to keep or replace, never ours to delete.
            if !existed {
                for path in [out, out + "-wal", out + "-shm", out + "-journal"] { try? FileManager.default.removeItem(atPath: path) }
            }
            throw error
        }
    }
}

/// Runs a conversion pipeline; on failure prints every problem and exits 1, so a bad input
/// file never ends in a crash or a silent partial result.
@discardableResult
func runConversion(_ graph: PipelineGraph, verb: String, describing what: String) async throws -> PipelineReport {
    let report: PipelineReport
    do {
        report = try await graph.runUntilSignalled()
    } catch let error as PipelineError {
        printErrors(error)
        throw ExitCode(1)
    }
    if !report.failures.isEmpty {
        printErrors(PipelineError(grouping: report.failures))
        throw ExitCode(1)
    }
    let frames = report.stages.first { $0.kind == .sink }?.counters.framesIn ?? 0
    Logger(label: verb).info("\(what): \(frames) frames in \(String(format: "%.2f", report.elapsedSeconds)) s")
    return report
}
