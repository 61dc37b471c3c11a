import ArgumentParser
import Codecs
import Foundation
import Pipeline
import Stages
import TrackModel

/// `trackbag snapshot --room R`: asks every flight recorder in the room (`record --snapshot`, a
/// `snapshot` sink behind a `room` source) to write a snapshot now. It joins, publishes the data
/// track `trackbag.snapshot`, waits for the recorders to subscribe, sends one frame
/// (`{"note": …}`) and leaves; the recorder fires on that frame, naming this identity.
struct Snapshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Ask the flight recorders in a LiveKit room (record --snapshot) to write a snapshot now.")

    @Option(help: "Server URL.") var url = "ws://127.0.0.1:7880"
    @Option(help: "The room.") var room: String
    @Option(help: "Our participant identity (the snapshot event names it).") var identity = "trackbag-snapshot"
    @Option(help: "API key that signs our token (default devkey).") var apiKey: String?
    @Option(help: "API secret (default secret).") var apiSecret: String?
    @Option(help: "A ready access token instead of --api-key/--api-secret.") var token: String?
    @Option(help: "A note stored in the snapshot event.") var note = ""
    @Option(help: "Seconds to let recorders subscribe before sending.") var leadIn = 1.0
    @OptionGroup var logging: LogOptions

    func run() async throws {
        logging.bootstrap()
        let info = TrackInfo(identity: identity, name: SnapshotSink.commandTrack, frameEncoding: "json")
        do {
            let sink = try RepublishSink(config: .init(url: url, room: room, single: identity, apiKey: apiKey, apiSecret: apiSecret,
                                                       token: token, publish: .eager, pushTimeout: TimeOffset(seconds: 5)),
                                         environment: ProcessInfo.processInfo.environment, stage: "snapshot")
            try await sink.prepare(tracks: [info])
            try await sink.waitForParticipants(1, timeout: .seconds(30))
            try await Task.sleep(for: .milliseconds(Int(max(0, leadIn) * 1000)))
            var payload: [UInt8] = []
            JSONText.writeString(note, into: &payload)
            let frame = Frame(track: info, payload: Array("{\"note\":".utf8) + payload + Array("}".utf8), userTimestamp: nil,
                              receiveTimeNs: SessionClock.system.nowNs())
            try await sink.write(Batch(frames: [frame]))
            // Let the frame leave before the participant does.
            try await Task.sleep(for: .milliseconds(500))
            try await sink.finish()
            let sent = await sink.trackCounts().values.reduce(0) { $0 + $1.sent }
            guard sent == 1 else {
                printErrors(PipelineError(message: "the snapshot request was not sent (publisher queue full)"))
                throw ExitCode(1)
            }
            print("asked the recorders in room '\(room)' for a snapshot")
        } catch let error as PipelineError {
            printErrors(error)
            throw ExitCode(1)
        }
    }
}
