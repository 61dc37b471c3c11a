import XCTest
@testable import DataTracks

final class FrameNumberGapsTests: XCTestCase {
    func testConsecutiveFramesCountNothingMissing() {
        var gaps = FrameNumberGaps()
        XCTAssertEqual((10 ... 20).map { gaps.observe(UInt16($0)) }, Array(repeating: 0, count: 11))
    }

    func testAJumpCountsTheFramesSkipped() {
        var gaps = FrameNumberGaps()
        XCTAssertEqual(gaps.observe(5), 0)
        XCTAssertEqual(gaps.observe(9), 3)  // 6, 7, 8 never seen
        XCTAssertEqual(gaps.observe(10), 0)
    }

    func testALateFrameIsTakenBackOffTheCount() {
        var gaps = FrameNumberGaps()
        XCTAssertEqual(gaps.observe(1), 0)
        XCTAssertEqual(gaps.observe(3), 1)
        XCTAssertEqual(gaps.observe(2), -1)  // arrived after 3 on the unordered channel
        XCTAssertEqual(gaps.observe(4), 0)
        XCTAssertEqual(gaps.observe(3), 0)  // a repeat: it was never counted missing
        XCTAssertEqual(gaps.observe(2), 0)
    }

    func testTheNumberSpaceWraps() {
        var gaps = FrameNumberGaps()
        XCTAssertEqual(gaps.observe(65_534), 0)
        XCTAssertEqual(gaps.observe(65_535), 0)
        XCTAssertEqual(gaps.observe(0), 0)
        XCTAssertEqual(gaps.observe(3), 2)
    }

    func testAFrameFarBehindIsNotAHugeGap() {
        var gaps = FrameNumberGaps()
        XCTAssertEqual(gaps.observe(40_000), 0)
        XCTAssertEqual(gaps.observe(20_000), 0)  // 20,000 behind: never counted, not taken back
        XCTAssertEqual(gaps.observe(40_001), 0)
    }

    func testMemoryStaysBoundedWhateverNumbersArrive() {
        var gaps = FrameNumberGaps()
        var counted = 0
        for step in 0 ..< 10_000 { counted += gaps.observe(UInt16(truncatingIfNeeded: step * 3_000)) }
        // Every jump of 3,000 counts 2,999; late frames far behind are not taken back.
        XCTAssertEqual(counted, 9_999 * 2_999 - 0)
        XCTAssertEqual(gaps.observe(UInt16(truncatingIfNeeded: 9_999 * 3_000 - 1)), -1)
    }
}
