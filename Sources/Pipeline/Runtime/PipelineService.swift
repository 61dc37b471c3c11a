import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// A pipeline run as a service, so a command runs it in a `ServiceGroup` beside others (a
/// metrics endpoint, a server) with one shutdown path: the group's graceful shutdown (SIGINT,
/// SIGTERM) stops the sources and lets the graph drain into its sinks; a second SIGINT or SIGTERM
/// during that drain abandons what is still queued so the sinks finish at once.
///
/// The run's report goes to `onReport`; a stage failure ends the service with the failure, which
/// ends the group.
public struct PipelineService: Service {
    public let graph: PipelineGraph
    public let stop: PipelineStop
    public let monitor: PipelineMonitor?
    private let onReport: @Sendable (PipelineReport) -> Void

    public init(graph: PipelineGraph, stop: PipelineStop = PipelineStop(), monitor: PipelineMonitor? = nil,
                onReport: @escaping @Sendable (PipelineReport) -> Void = { _ in }) {
        self.graph = graph
        self.stop = stop
        self.monitor = monitor
        self.onReport = onReport
    }

    public func run() async throws {
        let stop = self.stop, monitor = self.monitor
        let report = try await withGracefulShutdownHandler {
            try await graph.runReporting(stop: stop, monitor: monitor)
        } onGracefulShutdown: {
            stop.stop()
            // The group trapped the first signal; a second one means "do not wait for the drain".
            Task {
                for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm) {
                    stop.stop()
                    return
                }
            }
        }
        onReport(report)
        if !report.failures.isEmpty {
            throw report.failures.count == 1 ? report.failures[0] : PipelineError(grouping: report.failures)
        }
    }
}

extension PipelineGraph {
    /// Runs the graph in a service group that stops it on SIGINT or SIGTERM, and returns its
    /// report (failures included, as `runReporting` does). What every command that runs a
    /// pipeline calls.
    public func runUntilSignalled(stop: PipelineStop = PipelineStop(), monitor: PipelineMonitor? = nil) async throws -> PipelineReport {
        let problems = problems()
        if !problems.isEmpty {
            throw problems.count == 1 ? problems[0] : PipelineError(grouping: problems)
        }
        let box = ReportBox()
        let service = PipelineService(graph: self, stop: stop, monitor: monitor) { box.set($0) }
        let group = ServiceGroup(configuration: .init(services: [.init(service: service,
                                                                         successTerminationBehavior: .gracefullyShutdownGroup,
                                                                         failureTerminationBehavior: .gracefullyShutdownGroup)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: .pipelineQuiet))
        do {
            try await group.run()
        } catch {
            // A stage failure is in the report; anything else (the group itself) is thrown.
            guard let report = box.get(), !report.failures.isEmpty else { throw error }
        }
        guard let report = box.get() else {
            throw PipelineError(message: "the pipeline ended without a report")
        }
        return report
    }
}

private final class ReportBox: Sendable {
    private let report = Mutex<PipelineReport?>(nil)
    func set(_ value: PipelineReport) { report.withLock { $0 = value } }
    func get() -> PipelineReport? { report.withLock { $0 } }
}

extension Logger {
    /// The group's own lifecycle messages are not an operator's concern here.
    static let pipelineQuiet: Logger = {
        var logger = Logger(label: "trackbag.pipeline.lifecycle")
        logger.logLevel = .error
        return logger
    }()
}
