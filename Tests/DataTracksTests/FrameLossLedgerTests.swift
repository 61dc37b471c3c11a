import DataTracks
import XCTest

final class FrameLossLedgerTests: XCTestCase {
    private typealias Change = FrameLossLedger.Change
    private let second: Int64 = 1_000_000_000

    /// Delivers `numbers` at time `t`, summing the changes.
    private func deliver(_ numbers: [Int], _ ledger: inout FrameLossLedger, at t: Int64 = 0) -> Change {
        var sum = Change()
        for n in numbers {
            let c = ledger.delivered(UInt16(truncatingIfNeeded: n), nowNs: t)
            sum.missing += c.missing
            sum.incomplete += c.incomplete
        }
        return sum
    }

    func testConsecutiveNumbersLoseNothing() {
        var ledger = FrameLossLedger()
        XCTAssertEqual(deliver(Array(10 ... 20), &ledger), Change())
        XCTAssertEqual(ledger.settle(nowNs: 10 * second), Change())
        XCTAssertEqual(ledger.close(), Change())
    }

    func testSkippedNumbersCountMissingOnceSettled() {
        var ledger = FrameLossLedger()
        XCTAssertEqual(deliver([5, 9, 10], &ledger), Change())  // 6, 7, 8 may still come
        XCTAssertEqual(ledger.settle(nowNs: FrameLossLedger.settleNs - 1), Change())
        XCTAssertEqual(ledger.settle(nowNs: FrameLossLedger.settleNs), Change(missing: 3))
        XCTAssertEqual(ledger.settle(nowNs: 5 * second), Change())
    }

    func testReorderedFrameIsNeverCounted() {
        var ledger = FrameLossLedger()
        XCTAssertEqual(deliver([1, 3], &ledger), Change())
        XCTAssertEqual(deliver([2], &ledger, at: second / 100), Change())  // after 3: unordered channel
        XCTAssertEqual(deliver([4, 3, 2], &ledger, at: second / 50), Change())  // repeats change nothing
        XCTAssertEqual(ledger.settle(nowNs: 5 * second), Change())
    }

    func testFrameArrivingAfterItSettledIsTakenBack() {
        var ledger = FrameLossLedger()
        _ = deliver([1, 3], &ledger)
        XCTAssertEqual(ledger.settle(nowNs: 2 * second), Change(missing: 1))
        XCTAssertEqual(ledger.delivered(2, nowNs: 3 * second), Change(missing: -1))
    }

    /// A frame whose start packet was lost: the next frames are delivered while its other
    /// packets wait in the depacketizer, which then gives it up. One incomplete frame, not
    /// also a missing one, whenever the report in between is taken.
    func testFrameWithLostStartCountsOnceAsIncomplete() {
        var ledger = FrameLossLedger()
        _ = deliver([1], &ledger)
        XCTAssertEqual(ledger.delivered(3, nowNs: 0), Change())  // 2's tail is held as orphans
        XCTAssertEqual(ledger.settle(nowNs: 2 * second, holding: { $0 == 2 }), Change())
        XCTAssertEqual(ledger.dropped(2, nowNs: 3 * second), Change(incomplete: 1))
        XCTAssertEqual(ledger.settle(nowNs: 10 * second), Change())
    }

    func testFrameGivenUpTwiceIsOneIncompleteFrame() {
        var ledger = FrameLossLedger()
        _ = deliver([1], &ledger)
        XCTAssertEqual(ledger.dropped(2, nowNs: 0), Change(incomplete: 1))  // its tail evicted
        XCTAssertEqual(ledger.delivered(3, nowNs: 0), Change())
        XCTAssertEqual(ledger.dropped(2, nowNs: 0), Change())  // its late start, alone again
        XCTAssertEqual(ledger.delivered(2, nowNs: 0), Change(incomplete: -1))  // whole after all
    }

    func testDroppedSkippedNumberMovesFromWaitingToIncomplete() {
        var ledger = FrameLossLedger()
        _ = deliver([1, 4], &ledger)  // 2 and 3 skipped
        XCTAssertEqual(ledger.dropped(2, nowNs: 0), Change(incomplete: 1))
        XCTAssertEqual(ledger.settle(nowNs: 2 * second), Change(missing: 1))  // 3 only
    }

    func testCloseCountsEveryNumberStillWaiting() {
        var ledger = FrameLossLedger()
        _ = deliver([1, 5], &ledger)
        XCTAssertEqual(ledger.close(), Change(missing: 3))
        XCTAssertEqual(ledger.close(), Change())
    }

    func testNumbersWrapAround() {
        var ledger = FrameLossLedger()
        XCTAssertEqual(deliver([65_534, 65_535, 0, 3], &ledger), Change())
        XCTAssertEqual(ledger.settle(nowNs: 2 * second), Change(missing: 2))
    }

    func testFarBehindIsNotACount() {
        var ledger = FrameLossLedger()
        XCTAssertEqual(deliver([40_000, 20_000, 40_001], &ledger), Change())  // 20,000 behind
        XCTAssertEqual(ledger.close(), Change())
    }

    func testJumpBeyondWindowCountsTheUnrecognisablePartAtOnce() {
        var ledger = FrameLossLedger()
        XCTAssertEqual(deliver([0, 3_001], &ledger), Change(missing: 3_000 - FrameLossLedger.window))
        XCTAssertEqual(ledger.close(), Change(missing: FrameLossLedger.window))
    }

    func testMemoryStaysBoundedWhateverNumbersArrive() {
        var ledger = FrameLossLedger()
        var counted = 0
        for step in 0 ..< 10_000 {
            counted += ledger.delivered(UInt16(truncatingIfNeeded: step * 3_000), nowNs: Int64(step) * second / 1_000).missing
            counted += ledger.settle(nowNs: Int64(step) * second / 1_000).missing
        }
        counted += ledger.close().missing
        // Every jump of 3,000 counts 2,999, now or when settled or closed.
        XCTAssertEqual(counted, 9_999 * 2_999)
        XCTAssertEqual(ledger.delivered(UInt16(truncatingIfNeeded: 9_999 * 3_000 - 1), nowNs: 0), Change(missing: -1))
    }
}
