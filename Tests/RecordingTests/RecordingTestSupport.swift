import XCTest
@testable import Recording
import Synthetic

/// A fresh temporary directory per test, removed afterwards.
class TemporaryDirectoryTestCase: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tbag-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Reads every selected frame.
    func readAll(_ reader: RecordingReader, _ selection: FrameSelection = FrameSelection()) throws -> [RecordedFrame] {
        let cursor = try reader.frames(selection)
        var out: [RecordedFrame] = []
        while let f = try cursor.next() { out.append(f) }
        return out
    }
}

