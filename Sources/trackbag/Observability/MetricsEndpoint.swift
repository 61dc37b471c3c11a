import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Observability
import Prometheus

/// `--metrics-addr HOST:PORT`: `GET /metrics` answers in the Prometheus text format. Each scrape
/// asks the command for its samples first (the pipeline's or the server's live counters), so
/// what is scraped is what the counters hold at that moment.
struct MetricsEndpoint {
    let host: String
    let port: Int

    /// `HOST:PORT`, `[IPv6]:PORT`, or `:PORT` for every address.
    init(parsing address: String) throws {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (0...65535).contains(port) else {
            throw ValidationError("--metrics-addr must be HOST:PORT (e.g. 127.0.0.1:9464), not '\(address)'")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host.isEmpty ? "0.0.0.0" : host
        self.port = port
    }

    /// Serves until the returned task is cancelled; the listening address is logged once bound.
    func start(logger: Logger, collect: @escaping @Sendable () async -> [MetricSample]) -> Task<Void, Never> {
        let registry = PrometheusCollectorRegistry()
        let publisher = MetricsPublisher(factory: PrometheusMetricsFactory(registry: registry))
        let router = Router()
        router.get("metrics") { _, _ -> Response in
            publisher.publish(await collect())
            return Response(status: .ok,
                            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        let host = host
        let app = Application(router: router,
                              configuration: .init(address: .hostname(host, port: port), serverName: "trackbag"),
                              onServerRunning: { channel in
                                  let port = channel.localAddress?.port ?? 0
                                  logger.info("metrics on http://\(host):\(port)/metrics")
                              },
                              logger: quiet)
        return Task {
            do {
                try await app.run()
            } catch is CancellationError {
            } catch {
                logger.error("metrics endpoint on \(host): \(error)")
            }
        }
    }
}
