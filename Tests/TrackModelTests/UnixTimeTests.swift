import XCTest
@testable import TrackModel

final class UnixTimeTests: XCTestCase {
    func testISO8601KeepsNanosecondsAndFloorsBeforeTheEpoch() {
        XCTAssertEqual(UnixTime.iso8601(ns: 0), "1970-01-01T00:00:00.000000000Z")
        XCTAssertEqual(UnixTime.iso8601(ns: 1_764_163_360_123_456_789), "2025-11-26T13:22:40.123456789Z")
        XCTAssertEqual(UnixTime.iso8601(ns: -1), "1969-12-31T23:59:59.999999999Z")
        XCTAssertEqual(UnixTime.iso8601(ns: -1_000_000_000), "1969-12-31T23:59:59.000000000Z")
    }

    func testCompactFormSortsAndFitsAFileName() {
        XCTAssertEqual(UnixTime.compact(ns: 1_764_163_360_999_000_000), "20251126-132240")
    }

    func testNowIsAfter2024() {
        XCTAssertGreaterThan(UnixTime.nowNs(), 1_704_067_200_000_000_000)
    }
}
