import ArgumentParser
import Foundation
import Logging
import RoomServer

/// `trackbag serve`: the embedded LiveKit-compatible server (docs/ARCHITECTURE.md).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a LiveKit-compatible room server with data tracks.",
        discussion: """
            API keys come from --key-file, else --keys, else the LIVEKIT_KEYS environment variable \
            ("key1: secret1, key2: secret2"). Without any, the development key devkey (secret "secret", \
            as `livekit-server --dev`) is used, and only when --host is a loopback address unless --dev \
            is given. Secrets are never printed. SIGINT or SIGTERM stops the server.
            """
    )

    @Option(help: "Address to listen on for signaling.") var host: String = "127.0.0.1"
    @Option(help: "Signaling port (0 = any free port).") var port: Int = 7880
    @Option(help: "UDP port for WebRTC, shared by every peer connection on each address (0 = any free port).") var rtcPort: Int = 7882
    @Option(name: .customLong("keys"), help: "API key and secret as KEY:SECRET, or several as \"K1: S1, K2: S2\" (repeatable).")
    var keys: [String] = []
    @Option(name: .customLong("key-file"), help: "YAML file of KEY: SECRET lines (as livekit-server's key_file); others must have no access to it.")
    var keyFile: String?
    @Flag(help: "Allow the development key devkey on a non-loopback --host (anyone who knows it can join).")
    var dev = false
    @Option(name: .customLong("node-ip"), help: "Address to advertise and bind for WebRTC (repeatable; default: every up interface address and 127.0.0.1).")
    var nodeIPs: [String] = []
    @Option(name: .customLong("advertise-address"),
            help: "Address to advertise as the WebRTC candidate instead of the matching --node-ip, which is still the one bound: IP (same port) or IP:PORT, one per --node-ip in order (behind a 1:1 NAT, a port forward or a relay).")
    var advertiseAddresses: [String] = []
    @Option(help: "Append every data-track packet the server receives to this file (u32 length ‖ bytes): what the server can read.")
    var captureDataTracks: String?
    @OptionGroup var operations: OperatorOptions
    @OptionGroup(title: "Scheduling on a busy machine") var scheduling: SchedulingOptions

    func run() async throws {
        operations.bootstrapLogging()
        let logger = Logger(label: "serve")
        try scheduling.applyOrExit(logger: logger)
        let apiKeys: APIKeys
        do {
            apiKeys = try APIKeys.resolve(keys: keys, keyFile: keyFile, environment: ProcessInfo.processInfo.environment,
                                          host: host, dev: dev)
        } catch {
            throw ValidationError("\(error)")
        }
        var warnings: [String] = []
        if apiKeys == .development && !APIKeys.isLoopback(host: host) {
            warnings.append("the development key devkey is in use on \(host): anyone who can reach it can join")
        } else if apiKeys != .development, !apiKeys.shortSecretKeys.isEmpty {
            // livekit-server `ValidateKeys` warns the same way outside development mode.
            warnings.append("the secret of \(apiKeys.shortSecretKeys.joined(separator: ", ")) is shorter than "
                            + "\(APIKeys.recommendedSecretLength) characters")
        }
        for warning in warnings { logger.warning("\(warning)") }
        let server: RoomServer
        do {
            server = try RoomServer(.init(host: host, port: port, rtcPort: rtcPort, keys: apiKeys.secrets, nodeIPs: nodeIPs,
                                        dataTrackCapture: captureDataTracks, advertisedAddresses: advertiseAddresses))
        } catch {
            throw ValidationError("\(error)")
        }
        let addresses = zip(server.rtcAddresses, server.advertisedRTCAddresses)
            .map { bound, shown in bound == shown ? bound : "\(bound) (advertised as \(shown))" }
            .joined(separator: ", ")
        let metrics = operations.startMetrics(logger: logger) { await server.statistics().metricSamples() }
        defer { metrics?.cancel() }
        try await server.run { url in
            // Written straight to fd 1 so a parent reading a pipe sees it at once. Key names only.
            let text = "trackbag serve: listening on \(url)\n  API keys: \(apiKeys)\n"
                + "  WebRTC (UDP, one port shared by all peer connections): \(addresses)\n"
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}
