import Foundation

/// The SDK captures in `shared/testvectors/livekit-python-1.2.1/` (see its README): found at
/// `<package root>/../shared` (CI and /work/main), else `$TRACKBAG_SHARED`, else `/work/shared`.
enum SharedTestVectors {
    static let captures = ["plain", "dual-pc", "e2ee"]

    struct Missing: Error, CustomStringConvertible { let description: String }

    static func directory(file: StaticString = #filePath) throws -> URL {
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
        throw Missing(description: "testvectors not found in \(candidates.map(\.path)); set TRACKBAG_SHARED")
    }

    /// The lines of `<capture>/signal-sequence.jsonl` as JSON objects.
    static func signalSequence(_ capture: String) throws -> [[String: Any]] {
        let url = try directory().appendingPathComponent(capture).appendingPathComponent("signal-sequence.jsonl")
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw Missing(description: "\(url.path): a line is not a JSON object")
            }
            return object
        }
    }

    static func text(_ capture: String, _ file: String) throws -> String {
        try String(contentsOf: directory().appendingPathComponent(capture).appendingPathComponent(file), encoding: .utf8)
    }
}
