import ArgumentParser
import Codecs
import Foundation
import Logging
import Pipeline
import Recording
import RoomClient
import Stages
import Synchronization
import TrackModel

/// `trackbag play FILE --room R`: the `recording` source at original pace into the `republish`
/// sink. Tracks are published before the first frame (so no frame is late by a join), the
/// command optionally waits for viewers, then replays on absolute deadlines and prints the
/// timing-fidelity report (sender lateness p50/p99/max, end drift, frames sent and dropped).
/// On a terminal, keys pause, seek, change the rate and step (`PlayKeys`).
struct Play: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "play",
        abstract: "Replay a .tbag recording into a LiveKit room at its original pacing.")

    @Argument(help: "The .tbag file to replay, or the parts of a split recording (played one after another as one session).")
    var files: [String]
    @Option(help: "Server URL.") var url = "ws://127.0.0.1:7880"
    @Option(help: "Room to publish into.") var room: String
    @Option(help: "API key that signs our tokens (default devkey).") var apiKey: String?
    @Option(help: "API secret (default secret).") var apiSecret: String?
    @Option(help: "A ready access token (every track is then published by its one participant).") var token: String?
    @Option(help: "Speed factor (2 = twice as fast).") var rate: Double = 1
    @Flag(help: "Start again at the end, until stopped.") var loop = false
    @Option(help: "Start offset from the first frame (90, 1.5s, 250ms, 2m).") var start: String?
    @Option(help: "End offset from the first frame.") var end: String?
    @Option(name: .customLong("tracks"), help: "Only tracks matching IDENTITY/NAME (with * and ?); repeatable.")
    var tracks: [String] = []
    @Option(help: "Prefix for the replaying participants' identities (robot → PREFIXrobot).") var identityPrefix = ""
    @Option(help: "Suffix for the replaying participants' identities.") var identitySuffix = ""
    @Option(help: "Publish every track from this one participant.") var single: String?
    @Option(help: "Wait until this many other participants are in the room before replaying.") var waitForSubscribers = 0
    @Option(help: "Shared E2EE key: plaintext tracks are published encrypted with it (tracks recorded encrypted always go out as their ciphertext).")
    var e2eeKey: String?
    @Option(help: "Environment variable holding the shared E2EE key.") var e2eeKeyEnv: String?
    @Option(help: "Seconds between publishing the tracks and the first frame when waiting for subscribers, so they can subscribe.")
    var leadIn: Double = 1.0
    @Option(help: "What paces the replay: receive (the recorder's receive times) or user (the publishers' user timestamps).")
    var clock: RecordingSource.Config.Clock = .receive
    @Option(help: "With --clock user, when the file does not say: ns, us or ms.") var userTimestampUnit: String?
    @Option(help: "When frames cannot leave on time: slow (the whole replay, keeping tracks' spacing), burst (catch up at once) or drop (leave out late frames).")
    var overload: RecordingSource.Config.Overload = .slow
    @Option(help: "Lateness that counts as overload (default 50ms).") var overloadThreshold = "50ms"
    @Option(name: .customLong("latch"), help: "State tracks (IDENTITY/NAME globs; repeatable): on --start, every loop and every seek (keys, RPC), the last frame of each before the position is sent at once.")
    var latch: [String] = []
    @Flag(help: "While replaying, a participant that subscribes to a --latch track gets its last frame at once (earlier subscribers get it again too; needs trackbag serve, docs/rpc.md).")
    var latchLateJoiners = false
    @OptionGroup var operations: OperatorOptions
    @OptionGroup var status: StatusOptions
    @Option(help: "Participants (identity glob, repeatable) that may pause, resume, seek, step and change the rate through RPC (docs/rpc.md); default: nobody.")
    var controlFrom: [String] = []

    func validate() throws {
        guard rate > 0, rate.isFinite else { throw ValidationError("--rate must be a number > 0") }
        guard waitForSubscribers >= 0 else { throw ValidationError("--wait-for-subscribers must be ≥ 0") }
        guard leadIn >= 0, leadIn < 3600 else { throw ValidationError("--lead-in must be 0…3600 seconds") }
        if let userTimestampUnit { _ = try Self.unitNanoseconds(userTimestampUnit) }
        if latchLateJoiners, latch.isEmpty { throw ValidationError("--latch-late-joiners needs the tracks: --latch GLOB") }
    }

    @OptionGroup(title: "Scheduling on a busy machine") var scheduling: SchedulingOptions

    func run() async throws {
        operations.bootstrapLogging()
        let logger = Logger(label: "play")
        try scheduling.applyOrExit(logger: logger)
        let source: RecordingSource
        let sink: RepublishSink
        let recorded: [TrackInfo]
        do {
            var s = try RecordingSource(config: .init(
                paths: files, pace: .original, rate: rate, loop: loop, start: start.map(TimeOffset.init(parsing:)),
                end: end.map(TimeOffset.init(parsing:)), tracks: tracks.isEmpty ? nil : tracks, clock: clock,
                userTimestampUnitNs: try userTimestampUnit.map(Self.unitNanoseconds), overload: overload,
                overloadThreshold: try TimeOffset(parsing: overloadThreshold), latch: latch.isEmpty ? nil : latch))
            let pacing = Mutex<PacingReport?>(nil)
            s.onPacingReport = { report in pacing.withLock { $0 = report } }
            source = s
            let globs = try tracks.map(TrackGlob.init)
            // Every track of every part, once: a track that goes on in the next part is one track.
            var seen = Set<TrackKey>()
            recorded = try files.flatMap { try RecordingReader(path: $0).tracks.map(\.info) }
                .filter { (globs.isEmpty || globs.anyMatches($0.key)) && seen.insert($0.key).inserted }
            sink = try RepublishSink(config: .init(url: url, room: room, identityPrefix: identityPrefix, identitySuffix: identitySuffix,
                                                   single: single, apiKey: apiKey, apiSecret: apiSecret, token: token,
                                                   publish: .eager,
                                                   e2ee: e2eeKey == nil && e2eeKeyEnv == nil ? nil : E2EESettings(key: e2eeKey, keyEnv: e2eeKeyEnv),
                                                   latchLateJoiners: latchLateJoiners ? latch : []),
                                     environment: ProcessInfo.processInfo.environment, stage: "republish", logger: logger)
            try await sink.prepare(tracks: recorded)
            if latchLateJoiners {
                logger.info("a new subscriber to \(latch.joined(separator: ", ")) gets its last frame at once")
            }
            let roomControl = await Self.startRoomControl(source.control, sink: sink, controlFrom: controlFrom,
                                                          notice: { line in logger.info("\(line)") })
            defer { roomControl.cancel() }
            if waitForSubscribers > 0 {
                logger.info("waiting for \(waitForSubscribers) other participant(s) in room '\(room)'")
                try await sink.waitForParticipants(waitForSubscribers, timeout: .seconds(600))
                try await Task.sleep(for: .milliseconds(Int(leadIn * 1000)))
            }
            var graph = PipelineGraph()
            graph.addSource("recording", source, type: "recording")
            graph.addSink("republish", sink, inputs: ["recording"], type: "republish")
            logger.info("replaying \(recorded.count) track(s) from \(files.count == 1 ? files[0] : "\(files.count) parts") at rate \(rate)\(loop ? ", looping" : "")")
            let keys = PlayKeys(control: source.control, logger: logger)
            let monitor = PipelineMonitor()
            let metrics = operations.startMetrics(logger: logger) { await monitor.snapshot()?.metricSamples() ?? [] }
            let view = status.start(monitor, title: "playing")
            let result: Result<PipelineReport, any Error>
            do { result = .success(try await graph.runUntilSignalled(monitor: monitor)) } catch { result = .failure(error) }
            keys?.restore()
            metrics?.cancel()
            await status.stop(view)
            let report = try result.get()
            let counts = await sink.trackCounts()
            print(Self.summary(counts: counts, pacing: pacing.withLock { $0 }, report: report))
            if !report.failures.isEmpty {
                printErrors(PipelineError(grouping: report.failures))
                throw ExitCode(1)
            }
        } catch let error as PipelineError {
            printErrors(error)
            throw ExitCode(1)
        } catch let error as RecordingError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// RPC methods and attributes on the replaying participants (PlayRoomControl).
    static func startRoomControl(_ control: ReplayControl, sink: RepublishSink, controlFrom: [String],
                                 notice: @escaping @Sendable (String) -> Void) async -> Task<Void, Never> {
        let rooms = await sink.joinedRooms().map { $0.room }
        let rpc = PlayRoomControl(control: control, controllers: controlFrom.map(Glob.init), notice: notice)
        await rpc.register(on: rooms)
        notice(controlFrom.isEmpty ? "RPC control: status only (--control-from GLOB lets participants drive the replay)"
                                   : "RPC control from: \(controlFrom.joined(separator: ", "))")
        return PlayRoomControl.publishAttributes(of: control, on: rooms)
    }

    static func summary(counts: [TrackKey: RepublishSink.TrackCounts], pacing: PacingReport?, report: PipelineReport) -> String {
        var lines = ["track                                       as                                          sent    dropped"]
        var sent: UInt64 = 0, dropped: UInt64 = 0
        for (key, c) in counts.sorted(by: { $0.key < $1.key }) {
            lines.append(pad(key.description, 40) + pad("\(c.identity)/\(c.name)", 40) + right(String(c.sent), 10)
                         + right(String(c.dropped), 11))
            sent += c.sent
            dropped += c.dropped
        }
        let edgeDrops = report.stages.first { $0.kind == .sink }?.counters.framesDropped ?? 0
        lines.append("frames sent \(sent), dropped \(dropped + edgeDrops)" + String(format: " in %.3f s", report.elapsedSeconds))
        if let pacing {
            lines.append("timing: " + pacing.description)
        }
        return lines.joined(separator: "\n")
    }

    static func unitNanoseconds(_ name: String) throws -> Int64 {
        guard let ns = RecordingSource.Config.nanoseconds(perUserTimestampUnit: name) else {
            throw ValidationError("--user-timestamp-unit '\(name)': expected ns, us or ms")
        }
        return ns
    }
}

extension RecordingSource.Config.Clock: ExpressibleByArgument {}
extension RecordingSource.Config.Overload: ExpressibleByArgument {}
