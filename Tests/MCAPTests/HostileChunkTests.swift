import Foundation
import XCTest
@testable import MCAP

/// Chunks whose header declares more than their bytes can hold: refused before the reader
/// allocates for them.
final class HostileChunkTests: XCTestCase {
    var dir: String = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "mcap-hostile-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A one-message file whose first chunk's `uncompressed_size` is set to `declared` (its CRC
    /// cleared so the size, not the CRC, is what the reader meets).
    func craft(_ compression: Compression, declared: UInt64) throws -> String {
        let path = dir + "/\(compression.rawValue)-bomb.mcap"
        let w = try MCAPWriter(path: path, options: .init(compression: compression))
        let c = try w.addChannel(topic: "t", messageEncoding: "")
        try w.addMessage(channelId: c, sequence: 0, logTime: 1, publishTime: 1, data: [UInt8](repeating: 7, count: 64))
        try w.finish()
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var at = 8
        while at + 9 <= bytes.count {
            let op = bytes[at]
            let length = bytes[(at + 1)..<(at + 9)].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            if op == Opcode.chunk.rawValue {
                // start(8) end(8) uncompressed_size(8) uncompressed_crc(4)
                for i in 0..<8 { bytes[at + 9 + 16 + i] = UInt8(truncatingIfNeeded: declared >> (8 * UInt64(i))) }
                for i in 0..<4 { bytes[at + 9 + 24 + i] = 0 }
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                return path
            }
            at += 9 + length
        }
        XCTFail("no chunk written")
        return path
    }

    func testLZ4ChunkDeclaringMoreThanItsBytesCanHoldIsRefusedBeforeAllocating() throws {
        for useIndex in [true, false] {
            // Within the 256 MiB chunk limit; 34 LZ4 bytes cannot expand to it.
            let path = try craft(.lz4, declared: 200 << 20)
            let r = try MCAPReader(path: path, options: .init(useIndex: useIndex))
            XCTAssertThrowsError(try { while try r.next() != nil {} }()) { e in
                let text = "\(e)"
                XCTAssertTrue(text.contains("lz4 chunk declares 209715200 uncompressed bytes"), text)
                XCTAssertTrue(text.contains("at most"), text)
            }
            XCTAssertLessThan(r.largestChunkBuffer, 1 << 20)
        }
    }

    func testZstdChunkDeclaringMoreThanItsBlocksCanHoldIsRefused() throws {
        let path = try craft(.zstd, declared: 200 << 20)
        let r = try MCAPReader(path: path, options: .init(useIndex: false))
        XCTAssertThrowsError(try { while try r.next() != nil {} }()) { e in
            XCTAssertTrue("\(e)".contains("chunk header says 209715200"), "\(e)")
        }
        XCTAssertLessThan(r.largestChunkBuffer, 1 << 20)
    }

    func testChunkAboveTheSizeLimitIsRefused() throws {
        let path = try craft(.lz4, declared: 1 << 30)
        let r = try MCAPReader(path: path, options: .init(useIndex: false))
        XCTAssertThrowsError(try { while try r.next() != nil {} }()) { e in
            XCTAssertTrue("\(e)".contains("above the \(256 << 20)-byte limit"), "\(e)")
        }
        XCTAssertEqual(r.largestChunkBuffer, 0)
    }

    func testExpansionBounds() {
        XCTAssertEqual(ChunkDecompressor.lz4MaxExpansion(100), 25_564)
        XCTAssertEqual(ChunkDecompressor.zstdMaxExpansion(3), 128 << 10)
        XCTAssertGreaterThan(ChunkDecompressor.zstdMaxExpansion(Int.max), 0)
    }
}
