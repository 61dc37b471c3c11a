import ArgumentParser
import Foundation

/// The commands a driver writes to a test peer's stdin, one per line, read on a dedicated thread
/// (a blocking read must not hold one of the few cooperative-pool threads).
final class StandardInputLines: Sendable {
    let lines: AsyncStream<String>

    init() {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        lines = stream
        let thread = Thread {
            while let line = readLine() { continuation.yield(line) }
            continuation.finish()
        }
        thread.start()
    }

    /// The next line as a JSON object.
    func nextJSON() async throws -> [String: Any] {
        var iterator = lines.makeAsyncIterator()
        guard let line = await iterator.next() else { throw ValidationError("stdin closed") }
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw ValidationError("stdin: not a JSON object: \(line.prefix(80))")
        }
        return object
    }
}
