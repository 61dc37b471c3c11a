import ArgumentParser
import Foundation
import Logging
import MCAP
import Pipeline
import Recording
import Stages
import TrackModel

/// `trackbag export FILE --format jsonl|mcap --out PATH`: a two-stage pipeline, the `recording`
/// source at fast pace into the format's sink, so export honours exactly what those stages do
/// (track globs, start/end offsets, user timestamps untouched).
struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a recording to JSON lines or MCAP.")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case jsonl, mcap
    }

    @Argument(help: "The .tbag file to export.")
    var file: String

    @Option(help: "Output format: jsonl or mcap.")
    var format: Format

    @Option(help: "Where to write the export.")
    var out: String

    @Option(name: .customLong("tracks"), help: "Only tracks matching IDENTITY/NAME (with * and ?); repeatable.")
    var tracks: [String] = []

    @Option(help: "Start offset from the first frame (90, 1.5s, 250ms, 2m).")
    var start: String?

    @Option(help: "End offset from the first frame.")
    var end: String?

    @Option(name: .customLong("user-timestamp-unit"),
            help: "MCAP only: unit of the user timestamps (ns, us or ms); MCAP publish_time is then the user timestamp in ns. Default: the unit the recording names (ns for an imported MCAP), else none.")
    var userTimestampUnit: String?

    @Option(help: "The room's shared E2EE key: tracks recorded as ciphertext (E2EE passthrough) are exported decrypted.")
    var key: String?

    @Option(help: "Environment variable holding the shared E2EE key.")
    var keyEnv: String?

    @Flag(help: "JSON lines only: decode each frame (its track's encoding: JSON, CBOR, MessagePack, Protobuf, ROS 2 CDR) and write its value beside the payload, so a person can read it. Frames that do not decode are written without a value and counted.")
    var decode = false

    @Option(name: .customLong("schemas"), help: "With --decode: a folder of schema files, read after schemas/ (repeatable); the recording's own schemas come first.")
    var schemaFolders: [String] = []

    @OptionGroup var logging: LogOptions

    func run() async throws {
        logging.bootstrap()
        for glob in tracks { _ = try TrackGlob(glob) }
        if decode && format != .jsonl {
            throw ValidationError("--decode writes values into JSON lines; MCAP keeps each message as its encoding and schema (use --format jsonl)")
        }
        let source = try RecordingSource(config: .init(
            path: file, pace: .fast, start: start.map(TimeOffset.init(parsing:)),
            end: end.map(TimeOffset.init(parsing:)), tracks: tracks.isEmpty ? nil : tracks))
        let encrypted = try RecordingReader(path: file).tracks.map(\.info).filter { $0.encryption == .gcm }
        var graph = PipelineGraph()
        graph.addSource("recording", source, type: "recording")
        var input = "recording"
        if key != nil || keyEnv != nil {
            let decrypt: Decrypt
            do {
                decrypt = try Decrypt(config: .init(key: key, keyEnv: keyEnv), environment: ProcessInfo.processInfo.environment)
            } catch let error as PipelineError {
                printErrors(error)
                throw ExitCode(1)
            }
            graph.addTransform("decrypt", decrypt, inputs: [input], type: "decrypt")
            input = "decrypt"
        } else if !encrypted.isEmpty {
            let tracks = encrypted.map(\.key.description).joined(separator: ", ")
            Logger(label: "export").warning("\(encrypted.count) track(s) hold E2EE ciphertext (\(tracks)); exported as ciphertext marked encrypted (give --key to decrypt)")
        }
        if decode {
            graph.addTransform("decode", Decode(config: .init(), schemaDirectories: schemaFolders), inputs: [input], type: "decode")
            input = "decode"
        }
        switch format {
        case .jsonl:
            graph.addSink(format.rawValue, JSONLinesSink(config: .init(path: out)), inputs: [input], type: "jsonl")
        case .mcap:
            // A recording imported from MCAP names its unit (ns) and its channels' origins, so
            // the export writes them back as they were (schemas/mcap-mapping.md, "Round trips").
            let meta = try RecordingReader(path: file).meta
            let origins: [TrackKey: MCAPChannelOrigin]
            do {
                origins = try MCAPChannelOrigin.fromRecordingMeta(meta)
            } catch let error as PipelineError {
                printErrors(error)
                throw ExitCode(1)
            }
            let unit = userTimestampUnit ?? meta[MCAPChannelOrigin.userTimestampUnitMetaKey]
            graph.addSink(format.rawValue, try MCAPExportTarget.sink(path: out, userTimestampUnit: unit,
                                                                     channelOrigins: origins),
                          inputs: [input], type: "mcap")
        }
        let report = try await runConversion(graph, verb: "export", describing: "\(file) → \(out)")
        if let counters = report.stages.first(where: { $0.name == "decode" })?.statistics {
            let undecodable = counters.filter { $0.name.hasPrefix("undecodable_") && $0.value > 0 }
            if !undecodable.isEmpty {
                let figures = undecodable.map { "\($0.name.dropFirst("undecodable_".count)) \($0.value)" }.joined(separator: ", ")
                Logger(label: "export").warning("frames written without a value (undecodable): \(figures)")
            }
        }
        if let counters = report.stages.first(where: { $0.name == "decrypt" })?.statistics, !counters.isEmpty {
            let figures = counters.map { "\($0.name) \($0.value)" }.joined(separator: ", ")
            Logger(label: "export").info("decrypt: \(figures)")
            if counters.contains(where: { $0.name.hasPrefix("dropped") && $0.value > 0 }) {
                Logger(label: "export").error("some encrypted frames did not decrypt with this key and were left out")
                throw ExitCode(2)
            }
        }
    }
}
