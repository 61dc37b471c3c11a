import ArgumentParser
import DataTracks
import Foundation
import LiveKitProtocol
import Logging
import Pipeline
import Recording
import RoomClient
import Stages
import Synchronization
import Synthetic

/// The live half of `trackbag demo`: the live path end to end over loopback, no root and no
/// network needed (only trackbag's own participants, whose ICE agents offer 127.0.0.1). Starts `trackbag serve` as a child process, a simulated robot
/// (imu 1 kHz × 48 B with µs user timestamps, joint_states 100 Hz JSON, odometry 50 Hz CBOR,
/// status 1 Hz JSON) publishing into room `demo-live`, records it with the `room` source, replays
/// the file with the `republish` sink into `demo-replay`, where a viewer checks every frame and
/// timestamp against the file; then prints counts, timing fidelity, file size and compression.
struct LiveDemo {
    var dir: String
    var seconds: Int
    var robot = SyntheticRobot()

    func run() async throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = "\(dir)/demo-live.tbag"
        let server = try ChildServer.start()
        defer { server.stop() }
        let url = server.url
        print("== 1. trackbag serve at \(url)")

        // Record.
        var source = try RoomSource(config: .init(url: url, room: "demo-live"))
        source.logger = Logger(label: "   recorder")
        let sink = RecordingSink(config: .init(path: path, room: "demo-live", overwrite: true))
        var graph = PipelineGraph()
        graph.addSource("room", source, type: "room", isLive: true)
        graph.addSink("recording", sink, inputs: ["room"], type: "recording")
        let stop = PipelineStop()
        let recording = Task { try await graph.runReporting(stop: stop) }
        try await Task.sleep(for: .milliseconds(800))

        print("== 2. robot-1 publishes imu 1 kHz, joint_states 100 Hz JSON, odometry 50 Hz CBOR, status 1 Hz JSON for \(seconds) s")
        let robot = Room()
        try await robot.connect(url: url, token: try Self.token(self.robot.identity, "demo-live"))
        var locals: [String: LocalDataTrack] = [:]
        for track in SyntheticRobot.tracks {
            locals[track.name] = try await robot.localParticipant.publishDataTrack(
                name: track.name, frameEncoding: DataTrackFrameEncoding(name: track.frameEncoding))
        }
        try await Task.sleep(for: .milliseconds(500))  // the recorder subscribes to each
        var published: [String: Int] = [:]
        var robotDrops = 0
        let clock = ContinuousClock()
        let start = clock.now
        for tick in 0..<(seconds * 1000) {
            try await clock.sleep(until: start + .milliseconds(tick))
            let micros = UInt64(Date().timeIntervalSince1970 * 1e6)
            for synthetic in self.robot.frames(atTick: tick, robotMicros: micros) {
                let name = synthetic.track
                let frame = DataTrackFrame(payload: synthetic.payload, userTimestamp: synthetic.userTimestamp)
                guard let local = locals[name] else { continue }
                var sent = false
                for _ in 0..<200 where !sent {
                    do {
                        try local.tryPush(frame)
                        sent = true
                    } catch {
                        try await Task.sleep(for: .microseconds(200))
                    }
                }
                if sent { published[name, default: 0] += 1 } else { robotDrops += 1 }
            }
        }
        try await Task.sleep(for: .milliseconds(800))
        stop.stop()
        let recordReport = try await recording.value
        await robot.disconnect()
        if !recordReport.failures.isEmpty { throw PipelineError(grouping: recordReport.failures) }

        // Replay with a viewer.
        print("== 3. replay \(path) into room demo-replay, a viewer checks every frame")
        let viewer = Room()
        let viewerEvents = viewer.events()
        let received = ViewerFrames()
        try await viewer.connect(url: url, token: try Self.token("viewer", "demo-replay"))
        let watcher = Task {
            await withTaskGroup(of: Void.self) { group in
                for await event in viewerEvents {
                    guard case .dataTrackPublished(let track) = event else { continue }
                    guard let subscription = try? await track.subscribe(bufferSize: 4096) else { continue }
                    let name = track.name
                    group.addTask {
                        for await frame in subscription {
                            let now = Int64(DispatchTime.now().uptimeNanoseconds)
                            received.add(name, frame, arrival: now)
                        }
                    }
                }
            }
        }
        let reader = try RecordingReader(path: path)
        let player = try RepublishSink(config: .init(url: url, room: "demo-replay", publish: .eager))
        try await player.prepare(tracks: reader.tracks.map(\.info))
        try await player.waitForParticipants(1, timeout: .seconds(10))
        try await Task.sleep(for: .seconds(1))
        var replaySource = try RecordingSource(config: .init(path: path, pace: .original))
        let pacing = Mutex<PacingReport?>(nil)
        replaySource.onPacingReport = { report in pacing.withLock { $0 = report } }
        var replay = PipelineGraph()
        replay.addSource("recording", replaySource, type: "recording")
        replay.addSink("republish", player, inputs: ["recording"], type: "republish")
        let replayReport = try await replay.run()
        try await Task.sleep(for: .milliseconds(500))
        await viewer.disconnect()
        watcher.cancel()

        // Judge against the file.
        var recorded: [String: [(payload: [UInt8], ts: UInt64?, time: Int64)]] = [:]
        var names: [Int: String] = [:]
        for t in reader.tracks { names[t.id] = t.info.name }
        let cursor = try reader.frames()
        while try cursor.advance() {
            let name = names[cursor.currentTrackID] ?? "?"
            recorded[name, default: []].append((cursor.withCurrentPayload { [UInt8]($0) }, cursor.currentUserTimestamp,
                                                cursor.currentReceiveTimeNs))
        }
        let got = received.snapshot()
        print("\n   track          published  recorded  replayed  identical  gap error p50/p99 ms")
        var allErrors: [Double] = []
        var allIdentical = true
        for name in SyntheticRobot.tracks.map(\.name) {
            let rec = recorded[name] ?? []
            let seen = got[name] ?? []
            let identical = rec.count == seen.count && zip(rec, seen).allSatisfy { $0.payload == $1.payload && $0.ts == $1.ts }
            allIdentical = allIdentical && identical
            var errors: [Double] = []
            if identical {
                for i in 1..<max(1, rec.count) {
                    errors.append(abs(Double((seen[i].arrival - seen[i - 1].arrival) - (rec[i].time - rec[i - 1].time)) / 1e6))
                }
            }
            allErrors += errors
            print("   " + pad(name, 14) + right(String(published[name] ?? 0), 10) + right(String(rec.count), 10)
                  + right(String(seen.count), 10) + right(identical ? "yes" : "NO", 11)
                  + "   " + Self.percentiles(errors))
        }
        let summary = try reader.summary()
        print("\n== 4. result")
        print("   robot push failures: \(robotDrops); republish: \(replayReport.stages.first { $0.kind == .sink }?.statistics.map { "\($0.name)=\($0.value)" }.joined(separator: " ") ?? "")")
        if let pacing = pacing.withLock({ $0 }) { print("   sender timing: \(pacing)") }
        print("   viewer inter-arrival error vs recording: " + Self.percentiles(allErrors) + " ms (p50/p99)")
        print("   file \(path): \(summary.fileBytes) bytes, \(summary.frameCount) frames, payload \(summary.rawBytes) B stored as \(summary.storedBytes) B, "
              + String(format: "compression %.2fx", summary.compressionRatio))
        print(allIdentical ? "   every recorded frame replayed with identical payload and user timestamp, in order"
                           : "   MISMATCH: some frames differ or are missing (see table)")
        if !allIdentical { throw ExitCode(1) }
    }

    static func percentiles(_ values: [Double]) -> String {
        guard !values.isEmpty else { return "-" }
        let sorted = values.sorted()
        func at(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((p * Double(sorted.count - 1)).rounded()))] }
        return String(format: "%.3f/%.3f", at(0.5), at(0.99))
    }

    static func token(_ identity: String, _ room: String) throws -> String {
        try AccessToken.sign(AccessTokenClaims(apiKey: "devkey", identity: identity, video: VideoGrant(roomJoin: true, room: room)),
                             secret: "secret")
    }
}

/// What the demo's viewer received, per track name, with arrival times (monotonic ns).
final class ViewerFrames: Sendable {
    typealias Item = (payload: [UInt8], ts: UInt64?, arrival: Int64)
    private let state = Mutex<[String: [Item]]>([:])

    func add(_ name: String, _ frame: DataTrackFrame, arrival: Int64) {
        state.withLock { $0[name, default: []].append((frame.payload, frame.userTimestamp, arrival)) }
    }

    func snapshot() -> [String: [Item]] { state.withLock { $0 } }
}

/// `trackbag serve` on 127.0.0.1 (ports chosen by the system) as a child process, stopped by
/// its PID with SIGTERM.
final class ChildServer: Sendable {
    let process: Process
    let url: String

    private init(process: Process, url: String) {
        self.process = process
        self.url = url
    }

    static func start() throws -> ChildServer {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0", "--rtc-port", "0", "--node-ip", "127.0.0.1"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        let handle = pipe.fileHandleForReading
        while !text.contains("\n") || !text.contains("listening on ") {
            let data = handle.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.contains("listening on ") }) {
                let url = String(line.split(separator: " ").last ?? "")
                return ChildServer(process: process, url: url)
            }
        }
        process.terminate()
        throw ValidationError("trackbag serve did not report its URL")
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}
