import ArgumentParser
import Foundation
import Pipeline
import Recording
import Stages
import Codecs

/// `trackbag demo` (what `make demo` runs), in two parts. Offline: record a simulated robot
/// session, run a pipeline config over it (decode → filter → downsample → recording), export it
/// to JSON lines, and show `trackbag info` of both files. Live (`LiveDemo`): `trackbag serve`, the
/// same robot publishing, `record`, `play` into a second room and a viewer checking every frame,
/// all over loopback. Everything goes under `--dir`.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Record a simulated robot offline and live, run a pipeline, replay and check every frame.")

    enum Part: String, ExpressibleByArgument, CaseIterable { case all, offline, live }

    @Option(help: "Folder for the demo's files.")
    var dir = "recordings"

    @Option(help: "Length of each simulated session in seconds.")
    var seconds = 10

    @Option(help: "Which part to run: all, offline or live.")
    var part: Part = .all

    @OptionGroup var logging: LogOptions

    func run() async throws {
        logging.bootstrap()
        if part != .live { try await runOffline() }
        if part != .offline {
            if part == .all { print("") }
            try await LiveDemo(dir: dir, seconds: seconds).run()
        }
    }

    private func runOffline() async throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let session = "\(dir)/demo-session.tbag"
        let filtered = "\(dir)/demo-filtered.tbag"
        let pipelinePath = "\(dir)/demo-pipeline.yaml"

        print("== 1. a simulated robot session (robot-1: imu 1 kHz, joint_states 100 Hz JSON, odometry 50 Hz CBOR, status 1 Hz JSON)")
        let started = Date()
        let written = try DemoSession(durationSeconds: seconds).write(to: session)
        print("   wrote \(written.frames) frames (\(written.perTrack.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))) to \(session) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")

        print("\n== 2. the pipeline \(pipelinePath)")
        let config = """
        # Keep the moments the robot's vertical acceleration spikes, at most 20 Hz per track.
        sources:
          session:
            type: recording
            path: \(session)
        transforms:
          decoded:
            type: decode
            inputs: [session]
          spikes:
            type: filter
            inputs: [decoded]
            condition: 'track == "status" || (track == "joint_states" && value.accel.z > 10.5) || track == "odometry"'
          slower:
            type: downsample
            inputs: [spikes]
            max_rate_hz: 20
        sinks:
          out:
            type: recording
            inputs: [slower]
            path: \(filtered)
            overwrite: true
        """
        try config.write(toFile: pipelinePath, atomically: true, encoding: .utf8)
        print(config.split(separator: "\n").map { "   " + $0 }.joined(separator: "\n"))
        let graph = try PipelineConfig.load(path: pipelinePath).compile(
            registry: BuiltinStages.all, environment: ProcessInfo.processInfo.environment)
        let report = try await graph.runUntilSignalled()
        print("\n" + report.formatted())
        if !report.failures.isEmpty { throw PipelineError(grouping: report.failures) }

        print("\n== 3. trackbag info \(session)")
        print(try Info.text(RecordingReader(path: session).summary(), schemas: []))
        print("\n== 4. trackbag info \(filtered)")
        print(try Info.text(RecordingReader(path: filtered).summary(), schemas: []))

        let jsonl = "\(dir)/demo-filtered.jsonl"
        var export = PipelineGraph()
        export.addSource("recording", try RecordingSource(config: .init(path: filtered)), type: "recording")
        export.addSink("jsonl", JSONLinesSink(config: .init(path: jsonl)), inputs: ["recording"], type: "jsonl")
        try await export.run()
        let firstLines = try String(contentsOfFile: jsonl, encoding: .utf8).split(separator: "\n").prefix(2)
        print("\n== 5. exported to \(jsonl); first lines:")
        for line in firstLines { print("   " + line.prefix(200)) }
    }
}
