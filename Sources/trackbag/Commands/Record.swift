import ArgumentParser
import Foundation
import Logging
import Pipeline
import Recording
import Stages
import TrackModel

/// `trackbag record --room R`: the `room` source into the `recording` sink, until SIGINT,
/// SIGTERM or `--duration`; then the graph drains, the file is committed, and per-track counts,
/// rates and drops are printed with the file path.
struct Record: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record the data tracks of a LiveKit room into a .tbag file.")

    @Option(help: "Server URL.") var url = "ws://127.0.0.1:7880"
    @Option(help: "Room to record.") var room: String
    @Option(help: "Our participant identity.") var identity = "trackbag-recorder"
    @Option(help: "API key that signs our token (default devkey).") var apiKey: String?
    @Option(help: "API secret (default secret).") var apiSecret: String?
    @Option(help: "A ready access token instead of --api-key/--api-secret.") var token: String?
    @Option(name: .customLong("tracks"), help: "Only tracks matching IDENTITY/NAME (with * and ?); repeatable. Default */*.")
    var tracks: [String] = []
    @Option(help: "Output path; {room}, {date} and {part} are filled in.") var out = "recordings/{room}-{date}.tbag"
    @Option(help: "Stop after this long (90, 1.5s, 250ms, 2m).") var duration: String?
    @Option(help: "Start a new file after this size (512MiB, 1GiB…).") var splitSize: String?
    @Option(help: "Start a new file after this span of time (10m, 1h…).") var splitDuration: String?
    @Flag(help: "Replace an existing output file.") var overwrite = false
    @Option(name: .customLong("e2ee"),
            help: "End-to-end encrypted tracks: passthrough (store the ciphertext, no key needed; the default without a key) or decrypt.")
    var e2eeMode: E2EESettings.Mode?
    @Option(help: "The room's shared E2EE key (as LiveKit's SDKs take it); implies --e2ee decrypt unless passthrough is given.")
    var e2eeKey: String?
    @Option(help: "Environment variable holding the shared E2EE key.") var e2eeKeyEnv: String?
    @Flag(help: "Join hidden: others do not see the recorder (LiveKit's hidden grant; with --token, the token must carry it).")
    var hidden = false
    @Flag(help: ArgumentHelp("Flight recorder: keep the last --pre in memory and write a new file to --snapshot-dir only when a trigger fires (--trigger, SIGUSR1, `trackbag snapshot --room`).",
                             discussion: "Each file holds --pre before the trigger and --post after it; triggers inside a window extend it. --out and --split-* do not apply."))
    var snapshot = false
    @Option(help: "With --snapshot: how much before a trigger each file holds.") var pre = "10s"
    @Option(help: "With --snapshot: how much after a trigger.") var post = "5s"
    @Option(help: "With --snapshot: most bytes the in-memory ring holds (payload + 64 per frame); the oldest go first and are counted.")
    var maxBytes = "256MiB"
    @Option(help: "With --snapshot: a condition in the filter language; a frame that matches fires a snapshot (e.g. 'track == \"events\" && value.kind == \"estop\"').")
    var trigger: String?
    @Option(help: "With --snapshot: directory of the snapshot files (named after the trigger time).") var snapshotDir = "snapshots"
    @OptionGroup var operations: OperatorOptions
    @OptionGroup var status: StatusOptions

    @OptionGroup(title: "Scheduling on a busy machine") var scheduling: SchedulingOptions

    func run() async throws {
        operations.bootstrapLogging()
        let logger = Logger(label: "record")
        try scheduling.applyOrExit(logger: logger)
        let stopAfter = try duration.map(TimeOffset.init(parsing:))
        var split: RecordingSink.Config.Split?
        if splitSize != nil || splitDuration != nil {
            split = .init(size: try splitSize.map(ByteCount.init(parsing:)), duration: try splitDuration.map(TimeOffset.init(parsing:)))
        }
        // The file is created only once something arrives; say now, not then, that it exists.
        if !snapshot, !overwrite, split == nil, !out.contains("{"), FileManager.default.fileExists(atPath: out) {
            printErrors(PipelineError(message: "\(out) exists (pass --overwrite to replace it)"))
            throw ExitCode(1)
        }
        var source: RoomSource
        do {
            source = try RoomSource(config: .init(url: url, room: room, identity: identity, apiKey: apiKey, apiSecret: apiSecret,
                                                  token: token, tracks: Self.subscribed(tracks, snapshot: snapshot),
                                                  e2ee: E2EESettings(mode: e2eeMode, key: e2eeKey, keyEnv: e2eeKeyEnv),
                                                  hidden: hidden),
                                    environment: ProcessInfo.processInfo.environment, stage: "room")
        } catch let error as PipelineError {
            printErrors(error)
            throw ExitCode(1)
        }
        source.logger = logger
        var graph = PipelineGraph()
        // `record --snapshot` answers the RPC method `trackbag.snapshot` (SnapshotRPC).
        let snapshotRPC = snapshot ? SnapshotRPC() : nil
        if let snapshotRPC { source.onJoined = { room in await snapshotRPC.register(on: room) } }
        graph.addSource("room", source, type: "room", isLive: true)
        if snapshot {
            let sink: SnapshotSink
            do {
                sink = try SnapshotSink(config: .init(directory: snapshotDir, pre: try TimeOffset(parsing: pre),
                                                      post: try TimeOffset(parsing: post), maxBytes: try ByteCount(parsing: maxBytes),
                                                      trigger: trigger, signal: true, wallClock: true, room: room),
                                      logger: logger)
            } catch let error as PipelineError {
                printErrors(PipelineError(message: "--\(error.message)"))
                throw ExitCode(1)
            }
            await snapshotRPC?.attach(sink)
            // SIGUSR1 fires a snapshot from the start, not only once the first frame arrived.
            signal(SIGUSR1, SIG_IGN)
            await sink.listenForSignals()
            // A condition over `value` needs the payload decoded first; the sink drops the value
            // before buffering, so the ring's byte bound holds.
            var input = "room"
            if trigger?.contains("value") == true {
                graph.addTransform("decode", Decode(config: .init()), inputs: ["room"], type: "decode", buffer: EdgeBuffer(policy: .block))
                input = "decode"
            }
            graph.addSink("snapshot", sink, inputs: [input], type: "snapshot", buffer: EdgeBuffer(policy: .block))
            let report = try await run(graph, stopAfter: stopAfter, logger: logger)
            let files = await sink.files
            print(Self.summary(tally: source.tally, report: report, files: files))
            let peak = await sink.peakBufferedBytes
            let evicted = await sink.framesEvicted
            let written = await sink.framesWritten
            // "wrote" above counts what the sink accepted; these are the frames in the files.
            print("snapshot: \(written) frames in \(files.count) file(s); ring peak \(peak) bytes (bound \(maxBytes)), "
                  + "\(evicted) frames evicted by the bound")
            if !report.failures.isEmpty {
                printErrors(PipelineError(grouping: report.failures))
                throw ExitCode(1)
            }
            return
        }
        let directory = (out as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let sink = RecordingSink(config: .init(path: out, room: room, split: split, overwrite: overwrite,
                                               createWhenEmpty: false))
        // The room source already holds a bounded buffer of its own (at least 65,536 frames, its
        // overflow counted and written as `drop` events), so the edge to the file blocks instead
        // of the live default, drop-oldest: with a 4,096-frame drop-oldest edge a sink stalled
        // for ~0.1 s (commit, CPU starved on a shared machine) lost 349-582 frames at 44k
        // frames/s in the live-recording bench (scripts/bench/live_record.py).
        graph.addSink("recording", sink, inputs: ["room"], type: "recording", buffer: EdgeBuffer(policy: .block))
        let report = try await run(graph, stopAfter: stopAfter, logger: logger)
        let files = await sink.files
        print(Self.summary(tally: source.tally, report: report, files: files))
        if !report.failures.isEmpty {
            printErrors(PipelineError(grouping: report.failures))
            throw ExitCode(1)
        }
    }

    /// Runs the recording graph until SIGINT/SIGTERM or, with `--duration`, until that much
    /// time has passed, with the metrics endpoint and the status view beside it; a pipeline
    /// error is printed and exits 1.
    func run(_ graph: PipelineGraph, stopAfter: TimeOffset?, logger: Logger) async throws -> PipelineReport {
        let stop = PipelineStop()
        let monitor = PipelineMonitor()
        let metrics = operations.startMetrics(logger: logger) { await monitor.snapshot()?.metricSamples() ?? [] }
        let view = status.start(monitor, title: "recording")
        let timer = stopAfter.map { offset in
            Task {
                try await Task.sleep(for: .nanoseconds(offset.nanoseconds))
                stop.stop()
            }
        }
        let result: Result<PipelineReport, any Error>
        do { result = .success(try await graph.runUntilSignalled(stop: stop, monitor: monitor)) } catch { result = .failure(error) }
        timer?.cancel()
        metrics?.cancel()
        await status.stop(view)
        do {
            return try result.get()
        } catch let error as PipelineError {
            printErrors(error)
            throw ExitCode(1)
        }
    }

    /// The track globs to subscribe: `*/*` by default; a flight recorder always also takes
    /// `trackbag snapshot`'s request track, whatever `--tracks` says.
    static func subscribed(_ tracks: [String], snapshot: Bool) -> [String] {
        if tracks.isEmpty { return ["*/*"] }
        return snapshot ? tracks + ["*/\(SnapshotSink.commandTrack)"] : tracks
    }

    /// One line per track (frames, rate over its own span, MB, drops), totals and the files.
    static func summary(tally: RoomSourceTally, report: PipelineReport, files: [String]) -> String {
        var lines = ["track                                       frames     rate/s        bytes    dropped"]
        for (key, t) in tally.tracks().sorted(by: { $0.key < $1.key }) {
            let span = Double(t.lastNs - t.firstNs) / 1e9
            let rate = span > 0 && t.frames > 1 ? Double(t.frames - 1) / span : 0
            lines.append(pad(key.description, 40) + right(String(t.frames), 10) + right(String(format: "%.1f", rate), 11)
                         + right(String(t.bytes), 13) + right(String(t.dropped), 11))
        }
        let totals = tally.totals()
        let edgeDrops = report.stages.first { $0.kind == .sink }?.counters.framesDropped ?? 0
        let written = report.stages.first { $0.kind == .sink }?.counters.framesOut ?? 0
        lines.append("received \(totals.frames) frames, wrote \(written); dropped: \(totals.dropped) before the pipeline "
                     + "(\(totals.untracked) not tied to a track), \(edgeDrops) in the pipeline; reconnects \(totals.reconnects); "
                     + String(format: "%.2f s", report.elapsedSeconds))
        if files.isEmpty { lines.append("nothing was recorded, so no file was written") }
        for file in files {
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? nil
            lines.append("file \(file)" + (size.map { " (\($0) bytes)" } ?? ""))
        }
        return lines.joined(separator: "\n")
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

func right(_ text: String, _ width: Int) -> String {
    text.count >= width ? " " + text : String(repeating: " ", count: width - text.count) + text
}

extension E2EESettings.Mode: ExpressibleByArgument {}

