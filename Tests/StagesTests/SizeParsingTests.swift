import XCTest
@testable import Recording
@testable import Stages

/// Sizes as typed on the command line and in configs (`--split-size`, `split.size`).
final class SizeParsingTests: XCTestCase {
    func testUnitsScaleTheNumber() throws {
        XCTAssertEqual(try ByteCount(parsing: "512MiB").bytes, 512 << 20)
        XCTAssertEqual(try ByteCount(parsing: " 1.5 KB ").bytes, 1500)
        XCTAssertEqual(try ByteCount(parsing: "7").bytes, 7)
    }

    /// A size beyond Int64 trapped converting the Double (found by the size-duration fuzz target).
    func testSizesBeyondInt64AreRefusedNotTrapped() {
        for text in ["10000020000000020000000000017", "9000000000G", "99999999999999999999999MiB"] {
            XCTAssertThrowsError(try ByteCount(parsing: text), text) { error in
                guard let e = error as? RecordingError else { return XCTFail("untyped error \(error)") }
                XCTAssertEqual(e.kind, .invalidArgument)
                XCTAssertTrue(e.message.contains("too large"), e.message)
            }
        }
        XCTAssertEqual(try ByteCount(parsing: "8000000000000000000").bytes, 8_000_000_000_000_000_000)
    }
}
