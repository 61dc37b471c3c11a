/// What a finished run reports: per-stage counters and timing, why it stopped, and failures.
public struct PipelineReport: Sendable {
    public struct StageReport: Sendable {
        public var name: String
        public var kind: StageKind
        public var type: String
        public var counters: StageCounters
        /// Time the stage spent in its own code (`run` minus waiting on output, `process`,
        /// `write` + `finish`), so `framesIn / busySeconds` is the stage's own rate.
        public var busySeconds: Double
        /// The overflow policy of the queue in front of the stage (nil for sources).
        public var policy: OverflowPolicy?
        /// Stage-specific figures (`StageStatistics`), e.g. decode's undecodable count.
        public var statistics: [(name: String, value: UInt64)]
    }

    public enum Ending: Sendable, Equatable {
        /// Every source reached the end of its input.
        case finished
        /// Stopped from outside (SIGINT, SIGTERM, `PipelineStop.stop()`): sources were stopped and
        /// the graph drained.
        case stopped
        /// A stage failed; see `failures`.
        case failed
    }

    public var stages: [StageReport]
    public var elapsedSeconds: Double
    public var ending: Ending
    public var failures: [PipelineError]

    /// A table for the terminal: one line per stage.
    public func formatted() -> String {
        var lines = ["stage                 kind       type          frames in   frames out    dropped        bytes in   frames/s busy"]
        for s in stages {
            let rateBase = s.kind == .source ? s.counters.framesOut : s.counters.framesIn
            let rate = s.busySeconds > 0 ? Double(rateBase) / s.busySeconds : 0
            func pad(_ text: String, _ width: Int) -> String {
                text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
            }
            func right(_ value: UInt64, _ width: Int) -> String {
                let text = String(value)
                return text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
            }
            var line = pad(s.name, 22) + pad(s.kind.rawValue, 11) + pad(s.type, 12)
            line += right(s.counters.framesIn, 11) + right(s.counters.framesOut, 13) + right(s.counters.framesDropped, 11)
            line += right(s.counters.bytesIn, 16) + right(UInt64(rate.rounded()), 11)
            for stat in s.statistics { line += "  \(stat.name)=\(stat.value)" }
            lines.append(line)
        }
        let how: String
        switch ending {
        case .finished: how = "finished"
        case .stopped: how = "stopped, graph drained"
        case .failed: how = "failed"
        }
        lines.append(String(format: "%@ in %.3f s", how, elapsedSeconds))
        return lines.joined(separator: "\n")
    }
}

/// A stage that keeps figures of its own beyond the standard counters (decode: undecodable
/// frames). The runtime asks once, after the stage has finished.
public protocol StageStatistics: Sendable {
    func statistics() async -> [(name: String, value: UInt64)]
}

/// Lets code that started a run stop it the way SIGINT does: sources stop, the graph drains,
/// every sink's `finish` runs. A second `stop` abandons what is still queued.
public final class PipelineStop: Sendable {
    private let state = StopLatch()

    public init() {}

    public func stop() { state.fire() }

    func observe(_ action: @escaping @Sendable () -> Void) { state.observe(action) }
}

import Synchronization

/// Remembers stop requests made before the run starts observing, and forwards later ones.
final class StopLatch: Sendable {
    private struct State {
        var pending = 0
        var observer: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    func fire() {
        let observer: (@Sendable () -> Void)? = state.withLock { s in
            if s.observer == nil { s.pending += 1 }
            return s.observer
        }
        observer?()
    }

    func observe(_ action: @escaping @Sendable () -> Void) {
        let pending = state.withLock { s -> Int in
            s.observer = action
            defer { s.pending = 0 }
            return s.pending
        }
        for _ in 0..<pending { action() }
    }
}
