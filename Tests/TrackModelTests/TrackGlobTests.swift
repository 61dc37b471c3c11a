import XCTest
@testable import TrackModel

final class TrackGlobTests: XCTestCase {
    func testMatching() throws {
        let cases: [(String, String, String, Bool)] = [
            ("robot-*/imu", "robot-1", "imu", true),
            ("robot-*/imu", "robot-", "imu", true),
            ("robot-*/imu", "robot-1", "imu2", false),
            ("robot-*/imu", "drone-1", "imu", false),
            ("*/*", "a", "b", true),
            ("*/cam?", "x", "cam1", true),
            ("*/cam?", "x", "cam", false),
            ("*/cam?", "x", "cam12", false),
            ("a*b*c/x", "aXXbYYc", "x", true),
            ("a*b*c/x", "aXXbYY", "x", false),
            ("a\\*b/x", "a*b", "x", true),
            ("a\\*b/x", "aXb", "x", false),
            ("id\\/sub/n", "id/sub", "n", true),
            ("ü*/名?", "über", "名前", true),
        ]
        for (pattern, identity, name, want) in cases {
            let g = try TrackGlob(pattern)
            XCTAssertEqual(g.matches(identity: identity, name: name), want, "\(pattern) vs \(identity)/\(name)")
        }
    }

    func testBadGlobsNameTheColumn() {
        let cases: [(String, String)] = [
            ("", "glob column 1"),
            ("imu", "glob column 4"),
            ("a/b/c", "glob column 4"),
            ("/imu", "glob column 1"),
            ("robot/", "glob column 7"),
            ("robot/imu\\", "glob column 10"),
        ]
        for (pattern, place) in cases {
            XCTAssertThrowsError(try TrackGlob(pattern), pattern) { e in
                let e = e as? TrackModelError
                XCTAssertEqual(e?.kind, .badGlob)
                XCTAssertEqual(e?.place, place, pattern)
            }
        }
    }

    func testTimeOffsets() throws {
        XCTAssertEqual(try TimeOffset(parsing: "1.5s").nanoseconds, 1_500_000_000)
        XCTAssertEqual(try TimeOffset(parsing: "2m").nanoseconds, 120_000_000_000)
        XCTAssertEqual(try TimeOffset(parsing: "250ms").nanoseconds, 250_000_000)
        XCTAssertEqual(try TimeOffset(parsing: "1m30s").nanoseconds, 90_000_000_000)
        XCTAssertEqual(try TimeOffset(parsing: "90").nanoseconds, 90_000_000_000)
        XCTAssertEqual(try TimeOffset(parsing: "40us").nanoseconds, 40_000)
        XCTAssertThrowsError(try TimeOffset(parsing: "1.5x")) { e in
            XCTAssertEqual((e as? TrackModelError)?.place, "column 4")
        }
        XCTAssertThrowsError(try TimeOffset(parsing: "s"))
        XCTAssertThrowsError(try TimeOffset(parsing: "1s5"))
    }
}
