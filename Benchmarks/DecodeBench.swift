import Foundation
import MCAP
import Pipeline
import Stages
import TrackModel

/// `trackbag-bench decode`: the `decode` stage on Protobuf and ROS 2 CDR frames against
/// Google's Python `protobuf` (`ParseFromString`, upb) and `mcap-ros2-support`'s decoder on the
/// same frames in the same run. scripts/bench/decode_bench.py writes the frames, a ~300-byte
/// `foxglove.PosesInFrame` and a 316-byte `sensor_msgs/Imu`, into an MCAP file and times the
/// Python decoders on them; this case reads that file and times `Decode.process` per kind.
/// Process CPU time per frame is what is compared. Figures are printed, never asserted.
enum DecodeBench {
    static let cases: [BenchCase] = [
        BenchCase(name: "decode", summary: "decode Protobuf (~300 B) and CDR sensor_msgs/Imu vs Python protobuf and mcap-ros2-support") { context in
            try await run(frames: min(context.frames, 200_000), directory: context.scratch + "/decode")
        },
    ]

    static func run(frames: Int, python: String = ".venv-peers/bin/python",
                    script: String = "scripts/bench/decode_bench.py", directory: String) async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/frames.mcap"
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: python)
        proc.arguments = [script, String(frames), path]
        let pipe = Pipe()
        proc.standardOutput = pipe
        do {
            try proc.run()
        } catch {
            print("  decode bench: could not start \(python): \(error)")
            return
        }
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        proc.waitUntilExit()
        guard proc.terminationStatus == 0,
              let baseline = try? JSONSerialization.jsonObject(with: out) as? [String: [String: Double]] else {
            print("  decode bench: \(script) failed (status \(proc.terminationStatus))")
            return
        }

        // Frames per topic, with the schema the channel names, as the mcap source would emit them.
        var schemas: [UInt16: Schema] = [:]
        var channels: [UInt16: TrackInfo] = [:]
        var frameLists: [String: [Frame]] = [:]
        let reader = try MCAPReader(path: path)
        while let record = try reader.next() {
            switch record {
            case .schema(let s): schemas[s.id] = s
            case .channel(let c):
                let schema = schemas[c.schemaId].map { SchemaInfo(name: $0.name, encoding: $0.encoding, data: $0.data) }
                channels[c.id] = TrackInfo(identity: "bench", name: c.topic, frameEncoding: c.messageEncoding, schema: schema)
            case .message(let m):
                guard let track = channels[m.channelId] else { continue }
                frameLists[track.name, default: []].append(
                    Frame(track: track, payload: m.data, userTimestamp: nil, receiveTimeNs: Int64(m.logTime)))
            default: break
            }
        }
        print("  \(frames) frames per kind; cpu = process user+system time, best of 3")
        print("  kind                     bytes   trackbag decode           Python")
        var measured: [String: Double] = [:]
        for (topic, label, pythonKey, pythonName) in [("/poses", "protobuf PosesInFrame", "protobuf", "protobuf ParseFromString"),
                                                      ("/poses", "protobuf PosesInFrame", "protobuf_dict", "ParseFromString + MessageToDict"),
                                                      ("/imu", "CDR sensor_msgs/Imu", "ros2", "mcap-ros2-support decoder")] {
            guard let list = frameLists[topic], !list.isEmpty else { continue }
            let batches = stride(from: 0, to: list.count, by: 4096).map { Batch(frames: Array(list[$0..<min($0 + 4096, list.count)])) }
            var best = measured[topic] ?? Double.infinity
            for _ in 0..<(measured[topic] == nil ? 3 : 0) {
                let decode = Decode(config: .init(onError: .pass))
                let start = MCAPBench.processCPUSeconds().total
                var decoded = 0
                for batch in batches {
                    decoded += try await decode.process(batch).frames.filter { $0.value != nil }.count
                }
                best = min(best, MCAPBench.processCPUSeconds().total - start)
                guard decoded == list.count else {
                    print("  \(label): only \(decoded) of \(list.count) frames decoded")
                    return
                }
            }
            measured[topic] = best
            let ours = Double(list.count) / best
            let theirs = baseline[pythonKey].map { Double(list.count) / $0["cpu_s", default: .infinity] } ?? 0
            print(String(format: "  %-22@ %6d   %9.0f frames/s (%5.2f µs)   %9.0f frames/s (%5.2f µs) %@  → %.2f×",
                         label as NSString, list[0].payload.count, ours, 1e6 / ours, theirs, 1e6 / theirs,
                         pythonName as NSString, ours / theirs))
        }
        try? FileManager.default.removeItem(atPath: path)
    }
}
