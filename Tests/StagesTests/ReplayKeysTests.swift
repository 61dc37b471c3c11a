@testable import Stages
import XCTest

/// `trackbag play`'s keys (`ReplayKeyDecoder`) and the commands both keys and RPC give
/// (`ReplayControl.perform`), without a replay running.
final class ReplayKeysTests: XCTestCase {
    static let five = ReplayKeyDecoder.seekStepNanoseconds

    func decode(_ bytes: [UInt8]) -> [ReplayCommand] {
        var decoder = ReplayKeyDecoder()
        return bytes.compactMap { decoder.feed($0) }
    }

    func testKeysAndEscapeSequences() {
        XCTAssertEqual(decode(Array(" +-.=_".utf8)), [.toggle, .scaleRate(by: 2), .scaleRate(by: 0.5), .stepFrames(1),
                                                      .scaleRate(by: 2), .scaleRate(by: 0.5)])
        // ESC [ C / ESC [ D (CSI, normal cursor mode), ESC O C / ESC O D (SS3, application mode).
        XCTAssertEqual(decode([0x1B, 0x5B, 0x43, 0x1B, 0x5B, 0x44]), [.seekBy(nanoseconds: Self.five), .seekBy(nanoseconds: -Self.five)])
        XCTAssertEqual(decode([0x1B, 0x4F, 0x43, 0x1B, 0x4F, 0x44]), [.seekBy(nanoseconds: Self.five), .seekBy(nanoseconds: -Self.five)])
        // With parameters (Shift: ESC [ 1 ; 2 C), the final byte decides.
        XCTAssertEqual(decode(Array("\u{1B}[1;2C".utf8)), [.seekBy(nanoseconds: Self.five)])
        // Other keys and sequences are ignored, and leave nothing behind: up arrow, F5, Home, a
        // letter, an ESC followed by a letter (Alt-x).
        XCTAssertEqual(decode(Array("\u{1B}[A\u{1B}[15~\u{1B}OHx\u{1B}x .".utf8)), [.toggle, .stepFrames(1)])
        // A '+' or '.' inside a sequence is not a key.
        XCTAssertEqual(decode(Array("\u{1B}[1+C".utf8)), [.seekBy(nanoseconds: Self.five)])
        // ESC ESC [ C: the second ESC starts the sequence.
        XCTAssertEqual(decode([0x1B, 0x1B, 0x5B, 0x43]), [.seekBy(nanoseconds: Self.five)])
    }

    func testASequenceSplitAcrossReadsDecodesTheSame() {
        var decoder = ReplayKeyDecoder()
        XCTAssertNil(decoder.feed(0x1B))
        XCTAssertNil(decoder.feed(UInt8(ascii: "[")))
        XCTAssertNil(decoder.feed(UInt8(ascii: "1")))
        XCTAssertEqual(decoder.feed(UInt8(ascii: "D")), .seekBy(nanoseconds: -Self.five))
        XCTAssertEqual(decoder.feed(UInt8(ascii: " ")), .toggle)
    }

    func testCommandsOnTheControl() throws {
        let control = ReplayControl(rate: 1)
        let first: Int64 = 1_000_000_000_000
        // Nothing to seek in before the recording is open.
        XCTAssertThrowsError(try control.perform(.seekBy(nanoseconds: Self.five)))
        control.begin(firstNs: first, lastNs: first + 12_000_000_000)
        control.reportEmitted(lastNs: first + 3_000_000_000, frames: 300)

        // A step is a paused replay's move.
        XCTAssertThrowsError(try control.perform(.stepFrames(1))) { error in
            XCTAssertTrue((error as? ReplayCommandRefusal)?.reason.contains("paused") == true)
        }
        XCTAssertEqual(try control.perform(.toggle), "paused")
        XCTAssertEqual(try control.perform(.stepFrames(1)), "step 1 frame")

        // + and - double and halve, within their bounds; asked while paused, from resume.
        XCTAssertEqual(try control.perform(.scaleRate(by: 2)), "rate 2 (from resume)")
        XCTAssertEqual(control.status.rate, 2)
        for _ in 0..<20 { try control.perform(.scaleRate(by: 2)) }
        XCTAssertEqual(control.status.rate, ReplayCommand.maximumRate)
        for _ in 0..<40 { try control.perform(.scaleRate(by: 0.5)) }
        XCTAssertEqual(control.status.rate, ReplayCommand.minimumRate)
        XCTAssertThrowsError(try control.perform(.rate(0)))

        // Arrows: 5 s from the position (3 s), clamped to the session (0…12 s).
        XCTAssertEqual(try control.perform(.seekBy(nanoseconds: Self.five)), "seek to 8.000 s (paused)")
        XCTAssertEqual(control.takeSeek(), first + 8_000_000_000)
        XCTAssertEqual(try control.perform(.seekBy(nanoseconds: -Self.five)), "seek to 0.000 s (paused)")
        XCTAssertEqual(control.takeSeek(), first)
        control.reportEmitted(lastNs: first + 10_000_000_000, frames: 1)
        try control.perform(.seekBy(nanoseconds: Self.five))
        XCTAssertEqual(control.takeSeek(), first + 12_000_000_000)
        XCTAssertEqual(control.status.seeks, 3)
        XCTAssertEqual(try control.perform(.resume), "resumed")
        XCTAssertFalse(control.isPaused)
    }
}
