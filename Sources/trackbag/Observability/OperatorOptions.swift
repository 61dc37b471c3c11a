import ArgumentParser
import Foundation
import Logging
import Observability

/// What every long-running command offers an operator: logging and live metrics
/// (docs/operations.md).
struct OperatorOptions: ParsableArguments {
    @OptionGroup var logging: LogOptions
    @Option(help: "Serve Prometheus metrics at http://HOST:PORT/metrics while running.")
    var metricsAddr: String?

    func validate() throws {
        if let metricsAddr { _ = try MetricsEndpoint(parsing: metricsAddr) }
    }

    func bootstrapLogging() { logging.bootstrap() }

    /// Starts the metrics endpoint when `--metrics-addr` was given.
    func startMetrics(logger: Logger, collect: @escaping @Sendable () async -> [MetricSample]) -> Task<Void, Never>? {
        guard let metricsAddr, let endpoint = try? MetricsEndpoint(parsing: metricsAddr) else { return nil }
        return endpoint.start(logger: logger, collect: collect)
    }
}

/// `--log-level` and `--log-format`, for every command that logs.
struct LogOptions: ParsableArguments {
    @Option(help: "Least severe log messages shown.")
    var logLevel: Logger.Level = .info
    @Option(help: "Log lines as text (for people) or json (one object per line, for log collectors).")
    var logFormat: LogFormat = .text

    /// Sends every `Logger` of the process to standard error in the chosen format and level.
    /// Call once, first thing in `run()`.
    func bootstrap() {
        let level = logLevel, format = logFormat
        LoggingSystem.bootstrap { label in
            var handler = OperatorLogHandler(label: label, format: format)
            handler.logLevel = level
            return handler
        }
    }
}

enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
