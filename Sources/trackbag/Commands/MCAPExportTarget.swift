import ArgumentParser
import Foundation
import MCAP
import Pipeline
import Stages
import TrackModel

/// The MCAP stages behind `trackbag export --format mcap` and `trackbag import X.mcap`, with a
/// progress line on stderr when it is a terminal (frames, MB/s; percent and ETA on import).
enum MCAPExportTarget {
    static func sink(path: String, userTimestampUnit: String? = nil,
                     channelOrigins: [TrackKey: MCAPChannelOrigin] = [:]) throws -> any SinkStage {
        do {
            var config = MCAPSinkConfig(path: path, userTimestampUnit: userTimestampUnit)
            config.channelOrigins = channelOrigins
            return try MCAPSink(config: config, progress: ProgressReporter(label: "export"))
        } catch let e as PipelineError {
            throw ValidationError(e.description)
        }
    }

    static func source(path: String, identity: String = "mcap", allowTruncated: Bool = false,
                       order: MCAPReader.Order = .file) throws -> any SourceStage {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
        return try MCAPSource(config: MCAPSourceConfig(path: path, identity: identity, allowTruncated: allowTruncated,
                                                       order: order),
                              progress: ProgressReporter(label: "import", totalBytes: size))
    }
}
