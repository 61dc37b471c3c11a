// Targets for what users and scripts type or hand us: pipeline configs (YAML, and JSON as YAML),
// every built-in stage's options through the options decoder, filter conditions, sizes and
// durations.
import Codecs
import Pipeline
@testable import Stages
import TrackModel

let configTargets: [FuzzTarget] = [
    FuzzTarget(name: "config", summary: "pipeline config (YAML/JSON) → every stage's options decoder") { bytes in
        guard let text = String(validating: bytes, as: UTF8.self),
              let config = try? PipelineConfig.parse(text, file: "fuzz.yaml") else { return }
        _ = try? config.compile(registry: BuiltinStages.all, environment: ["HOME": "/tmp"])
    },
    FuzzTarget(name: "filter", summary: "filter conditions: lexer, parser, evaluation on a frame") { bytes in
        let text = String(decoding: bytes, as: UTF8.self)
        guard let expression = try? FilterParser.parse(text) else { return }
        for frame in filterFrames { _ = expression.evaluate(frame) }
    },
    FuzzTarget(name: "size-duration", summary: "sizes (512MiB) and durations (1m30s) as typed on the command line") { bytes in
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? ByteCount(parsing: text)
        if let offset = try? TimeOffset(parsing: text) { _ = offset.description }
    },
]

let filterFrames: [Frame] = {
    let track = TrackInfo(identity: "robot", name: "pose", frameEncoding: "json")
    let json = Array(#"{"x": 1.5, "y": -2, "ok": true, "name": "arm", "list": [1, 2, {"z": null}], "big": 18446744073709551615}"#.utf8)
    return [
        Frame(track: track, payload: json, userTimestamp: 42, receiveTimeNs: 1_000_000, sequence: 7, value: try? JSONText.parse(json)),
        Frame(track: TrackInfo(identity: "", name: ""), payload: [], userTimestamp: nil, receiveTimeNs: .min, value: nil),
    ]
}()
