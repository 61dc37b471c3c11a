import Observability
import Synchronization

/// Watches a run while it goes: give it to `run`, `runReporting` or `runUntilSignalled`, then
/// `snapshot()` from any task returns the counters so far, the same ones the final
/// `PipelineReport` holds (and, after the run, exactly those).
public final class PipelineMonitor: Sendable {
    private let run = Mutex<PipelineRun?>(nil)

    public init() {}

    func attach(_ run: PipelineRun) { self.run.withLock { $0 = run } }

    /// The counters so far; nil before the run started.
    public func snapshot() async -> PipelineSnapshot? {
        guard let run = run.withLock({ $0 }) else { return nil }
        return await run.snapshot()
    }
}

/// The live counters of every stage of one run.
public struct PipelineSnapshot: Sendable {
    public struct Stage: Sendable {
        public var name: String
        public var kind: StageKind
        public var type: String
        public var counters: StageCounters
        /// Payload bytes passed on (for a sink: written).
        public var bytesOut: UInt64
        /// Frames waiting in the queue in front of the stage, and its capacity (0 for sources).
        public var queueDepth: Int
        public var queueCapacity: Int
        public var figures: StageFigures
    }

    public var stages: [Stage]
    public var elapsedSeconds: Double

    /// The snapshot as metric samples (docs/operations.md lists them).
    public func metricSamples() -> [MetricSample] {
        var samples: [MetricSample] = []
        for stage in stages {
            let labels = [("stage", stage.name), ("type", stage.type)]
            samples.append(.counter("trackbag_stage_frames_in_total", labels, stage.counters.framesIn))
            samples.append(.counter("trackbag_stage_frames_out_total", labels, stage.counters.framesOut))
            samples.append(.counter("trackbag_stage_bytes_in_total", labels, stage.counters.bytesIn))
            samples.append(.counter("trackbag_stage_bytes_out_total", labels, stage.bytesOut))
            if stage.kind != .source {
                samples.append(.counter("trackbag_stage_frames_dropped_total", labels + [("reason", "queue_full")],
                                        stage.counters.framesDropped))
                samples.append(.gauge("trackbag_stage_queue_frames", labels, Double(stage.queueDepth)))
                samples.append(.gauge("trackbag_stage_queue_capacity_frames", labels, Double(stage.queueCapacity)))
            }
            for (reason, count) in stage.figures.untrackedDrops.sorted(by: { $0.key < $1.key }) {
                samples.append(.counter("trackbag_stage_frames_dropped_total", labels + [("reason", reason)], count))
            }
            for (name, value) in stage.figures.counters.sorted(by: { $0.key < $1.key }) {
                samples.append(.counter("trackbag_stage_\(name)_total", labels, value))
            }
            for (name, value) in stage.figures.gauges.sorted(by: { $0.key < $1.key }) {
                samples.append(.gauge("trackbag_stage_\(name)", labels, value))
            }
            for (key, track) in stage.figures.tracks.sorted(by: { $0.key < $1.key }) {
                let trackLabels = labels + [("track", key.description)]
                samples.append(.counter("trackbag_track_frames_total", trackLabels, track.frames))
                samples.append(.counter("trackbag_track_bytes_total", trackLabels, track.bytes))
                for (reason, count) in track.dropped.sorted(by: { $0.key < $1.key }) {
                    samples.append(.counter("trackbag_track_frames_dropped_total", trackLabels + [("reason", reason)], count))
                }
                if let missing = track.missing {
                    samples.append(.counter("trackbag_track_frames_missing_total", trackLabels, missing))
                }
            }
        }
        samples.append(.gauge("trackbag_pipeline_elapsed_seconds", [], elapsedSeconds))
        return samples
    }
}

/// The counters the runtime keeps for a transform or a sink while it runs (a source's are its
/// output's tally).
final class StageProgress: Sendable {
    struct Live {
        var counters = StageCounters()
        /// A sink's bytes written (a transform's bytes out are its output's tally).
        var bytesOut: UInt64 = 0
    }

    let state = Mutex(Live())
}
