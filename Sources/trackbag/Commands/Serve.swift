import ArgumentParser
import Foundation
import RoomServer

/// `trackbag serve`: the embedded LiveKit-compatible server (docs/ARCHITECTURE.md).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a LiveKit-compatible room server with data tracks.",
        discussion: "Keys default to devkey: secret (as `livekit-server --dev`). SIGINT or SIGTERM stops it."
    )

    @Option(help: "Address to listen on for signaling.") var host: String = "127.0.0.1"
    @Option(help: "Signaling port (0 = any free port).") var port: Int = 7880
    @Option(help: "UDP port for WebRTC, shared by every peer connection on each address (0 = any free port).") var rtcPort: Int = 7882
    @Option(name: .customLong("keys"), help: "API key and secret as KEY:SECRET (repeatable).") var keys: [String] = []
    @Option(name: .customLong("node-ip"), help: "Address to advertise and bind for WebRTC (repeatable; default: every up interface address and 127.0.0.1).")
    var nodeIPs: [String] = []
    @Option(help: "Append every data-track packet the server receives to this file (u32 length ‖ bytes): what the server can read.")
    var captureDataTracks: String?

    func run() async throws {
        var keyTable: [String: String] = [:]
        for pair in keys {
            guard let colon = pair.firstIndex(of: ":") else {
                throw ValidationError("--keys \(pair): expected KEY:SECRET")
            }
            let key = String(pair[..<colon]).trimmingCharacters(in: .whitespaces)
            let secret = String(pair[pair.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, !secret.isEmpty else { throw ValidationError("--keys \(pair): key and secret must not be empty") }
            keyTable[key] = secret
        }
        if keyTable.isEmpty { keyTable = ["devkey": "secret"] }
        let server: RoomServer
        do {
            server = try RoomServer(.init(host: host, port: port, rtcPort: rtcPort, keys: keyTable, nodeIPs: nodeIPs,
                                        dataTrackCapture: captureDataTracks))
        } catch {
            throw ValidationError("\(error)")
        }
        let keyList = keyTable.keys.sorted().map { "\($0): \(keyTable[$0] ?? "")" }.joined(separator: ", ")
        let addresses = server.rtcAddresses.joined(separator: ", ")
        try await server.run { url in
            // Written straight to fd 1 so a parent reading a pipe sees it at once.
            let text = "trackbag serve: listening on \(url)\n  API keys: \(keyList)\n"
                + "  WebRTC (UDP, one port shared by all peer connections): \(addresses)\n"
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}
