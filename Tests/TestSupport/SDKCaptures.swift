import Foundation

/// LiveKit's official SDK captured on the wire (livekit 1.2.1: packets, frames, SDP and signal
/// messages), the ground truth of codec and protocol tests. Found at `<package root>/../shared`,
/// else `$TRACKBAG_SHARED`, else `/work/shared`.
public enum SDKCaptures {
    /// The captures: one publisher connection, two peer connections, and E2EE.
    public static let captures = ["plain", "dual-pc", "e2ee"]

    public struct Missing: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// The folder holding one subfolder per capture.
    public static func directory(file: StaticString = #filePath) throws -> URL {
        let root = URL(fileURLWithPath: "\(file)").deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        var candidates = [root.appendingPathComponent("../shared")]
        if let env = ProcessInfo.processInfo.environment["TRACKBAG_SHARED"] {
            candidates.append(URL(fileURLWithPath: env))
        }
        candidates.append(URL(fileURLWithPath: "/work/shared"))
        for shared in candidates {
            let dir = shared.appendingPathComponent("testvectors/livekit-python-1.2.1").standardized
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("README.md").path) { return dir }
        }
        throw Missing("SDK captures not found in \(candidates.map(\.path)); set TRACKBAG_SHARED")
    }

    /// The text of `path` below the captures folder (`plain/answer.sdp`).
    public static func text(_ path: String) throws -> String {
        try String(contentsOf: directory().appendingPathComponent(path), encoding: .utf8)
    }

    /// The lines of a JSON lines file of one capture, each a JSON object.
    public static func lines(_ capture: String, _ file: String) throws -> [[String: Any]] {
        let text = try self.text("\(capture)/\(file)")
        return try text.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw Missing("\(capture)/\(file): a line is not a JSON object")
            }
            return object
        }
    }
}
