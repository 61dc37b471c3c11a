import ArgumentParser
import Foundation
import Pipeline
import Stages

/// `trackbag validate PIPELINE.yaml`: everything `run` checks before starting (syntax, stage
/// types, options and their types, inputs, cycles, reachability), every problem reported with
/// file, line, column and stage; exit 1 when there is any. Nothing is opened or written.
struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a pipeline config and report every error with file:line:column and stage.")

    @Argument(help: "The pipeline config file (YAML or JSON).")
    var pipeline: String?

    @Flag(help: "List the stage types this build knows, then exit.")
    var list = false

    func run() async throws {
        if list {
            for kind in [StageKind.source, .transform, .sink] {
                print("\(kind.rawValue)s:")
                for registration in BuiltinStages.all where registration.kind == kind {
                    let type = registration.type.padding(toLength: 14, withPad: " ", startingAt: 0)
                    print("  \(type)\(registration.summary)\(registration.isLive ? " (live)" : "")")
                }
            }
            return
        }
        guard let pipeline else { throw ValidationError("give a pipeline config file, or --list") }
        do {
            let config = try PipelineConfig.load(path: pipeline)
            let graph = try config.compile(registry: BuiltinStages.all,
                                           environment: ProcessInfo.processInfo.environment)
            print("\(pipeline): ok, \(graph.nodes.count) stages")
        } catch let error as PipelineError {
            printErrors(error)
            throw ExitCode(1)
        }
    }
}
