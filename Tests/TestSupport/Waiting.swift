import Foundation

public struct ConditionTimeout: Error, CustomStringConvertible {
    public let description: String
}

/// Polls `condition` every 10 ms until it holds; throws once `timeout` has passed. For tests
/// that wait on another actor or thread, never for timing assertions.
public func waitUntil(timeout: Duration = .seconds(10), _ what: String = "condition",
                      _ condition: @escaping @Sendable () async -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw ConditionTimeout(description: "\(what) not met within \(timeout)")
}

/// A fresh path in a per-process scratch folder of the system's temporary directory.
public func temporaryPath(_ name: String, folder: String = "trackbag-tests") -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(folder)-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}
