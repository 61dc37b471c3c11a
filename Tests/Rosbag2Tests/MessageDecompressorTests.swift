import CZstd
import XCTest
@testable import Rosbag2

/// rosbag2's per-message zstd (`compression_mode: MESSAGE`): one frame per message.
final class MessageDecompressorTests: XCTestCase {
    func compress(_ data: [UInt8], level: Int32 = 3) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(data.count))
        let n = out.withUnsafeMutableBytes { dst in
            data.withUnsafeBytes { src in ZSTD_compress(dst.baseAddress, dst.count, src.baseAddress, src.count, level) }
        }
        XCTAssertEqual(ZSTD_isError(n), 0)
        return Array(out[0..<n])
    }

    func failure(_ data: [UInt8], _ d: MessageDecompressor = MessageDecompressor()) -> String? {
        do {
            _ = try d.decompress(data)
            return nil
        } catch {
            return error.description
        }
    }

    func testRoundTripsEveryByteWithOneDecompressorForManyMessages() throws {
        let d = MessageDecompressor()
        let cdr: [UInt8] = [0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x68, 0x69, 0x00]
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ ($0 >> 9)) }
        for message in [cdr, [], big, cdr] {
            XCTAssertEqual(try d.decompress(compress(message)), message)
        }
    }

    func testBrokenFramesAreRefusedWithTheReason() throws {
        let frame = compress(Array(repeating: 7, count: 10_000))
        XCTAssertEqual(failure([0x00, 0x01, 0x00, 0x00, 0x68]),
                       "not a zstd frame (the bag says its messages are zstd-compressed)")
        XCTAssertEqual(failure(Array(frame.dropLast(3))), "zstd frame cut short")
        XCTAssertEqual(failure(frame + [0xaa, 0xbb]), "2 bytes after the zstd frame")
        // Every cut of the frame fails; none crashes or returns part of the message.
        for n in 0..<frame.count {
            XCTAssertNotNil(failure(Array(frame.prefix(n))), "prefix of \(n) bytes")
        }
        // A header that declares more than the limit is refused before anything is allocated:
        // magic, frame header descriptor (single segment, 8-byte content size), the size.
        var bomb: [UInt8] = [0x28, 0xb5, 0x2f, 0xfd, 0xe0]
        withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { bomb += $0 }
        XCTAssertEqual(failure(bomb), "zstd frame declares 1099511627776 bytes, more than 1073741824")
    }
}
