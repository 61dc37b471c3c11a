import ArgumentParser
import Foundation
import Logging
import Pipeline
import Stages

/// `trackbag run PIPELINE.yaml`: compile the config (all errors at once, like `validate`),
/// run it until its sources end or SIGINT/SIGTERM, drain, and print per-stage counters.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline config (YAML or JSON) and print per-stage counters at the end.")

    @Argument(help: "The pipeline config file (YAML or JSON).")
    var pipeline: String

    @OptionGroup var operations: OperatorOptions
    @OptionGroup var status: StatusOptions

    @Option(name: .customLong("schemas"), help: "A folder of schema files for decode, after schemas/ and the config's own list (repeatable).")
    var schemaFolders: [String] = []

    func run() async throws {
        operations.bootstrapLogging()
        let logger = Logger(label: "run")
        let graph: PipelineGraph
        do {
            let config = try PipelineConfig.load(path: pipeline)
            graph = try config.compile(registry: BuiltinStages.all,
                                       environment: ProcessInfo.processInfo.environment,
                                       extraSchemaDirectories: schemaFolders)
        } catch let error as PipelineError {
            printErrors(error)
            throw ExitCode(1)
        }
        // SIGUSR1 fires a `snapshot` sink; one that arrives before the sink listens (or in a
        // pipeline without one) is ignored instead of ending the process.
        signal(SIGUSR1, SIG_IGN)
        let monitor = PipelineMonitor()
        let metrics = operations.startMetrics(logger: logger) { await monitor.snapshot()?.metricSamples() ?? [] }
        let view = status.start(monitor, title: "running")
        let result: Result<PipelineReport, any Error>
        do { result = .success(try await graph.runUntilSignalled(monitor: monitor)) } catch { result = .failure(error) }
        metrics?.cancel()
        await status.stop(view)
        let report: PipelineReport
        do {
            report = try result.get()
        } catch let error as PipelineError {
            printErrors(error)
            throw ExitCode(1)
        }
        if !status.quiet { print(report.formatted()) }
        if !report.failures.isEmpty {
            printErrors(PipelineError(grouping: report.failures))
            throw ExitCode(1)
        }
    }
}

/// Every problem on its own line on standard error, `file:line:column: stage 'x': message`.
func printErrors(_ error: PipelineError) {
    for problem in error.allProblems {
        FileHandle.standardError.write(Data(("error: " + problem.placedMessage + "\n").utf8))
    }
}
