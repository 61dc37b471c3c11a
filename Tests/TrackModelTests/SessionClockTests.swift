import Synchronization
import TrackModel
import XCTest

/// The session clock against a system clock that steps, with both clocks driven by the test.
final class SessionClockTests: XCTestCase {
    final class Clocks: Sendable {
        let system = Mutex<Int64>(1_800_000_000_000_000_000)
        let elapsed = Mutex<Int64>(5_000_000_000)
        func advance(_ ns: Int64) {
            system.withLock { $0 += ns }
            elapsed.withLock { $0 += ns }
        }
        func step(_ ns: Int64) { system.withLock { $0 += ns } }
        func clock() -> SessionClock {
            SessionClock(systemNs: { self.system.withLock { $0 } }, elapsedNs: { self.elapsed.withLock { $0 } })
        }
    }

    func testStartsAtTheSystemClockAndIgnoresItsSteps() {
        let clocks = Clocks()
        let clock = clocks.clock()
        let t0 = clock.nowNs()
        XCTAssertEqual(t0, 1_800_000_000_000_000_000)
        XCTAssertEqual(clock.systemOffsetNs(), 0)
        clocks.advance(10_000_000)
        XCTAssertEqual(clock.nowNs() - t0, 10_000_000)
        clocks.step(3_600_000_000_000)
        clocks.advance(10_000_000)
        XCTAssertEqual(clock.nowNs() - t0, 20_000_000, "a step forward does not move the session clock")
        XCTAssertEqual(clock.systemOffsetNs(), 3_600_000_000_000)
        clocks.step(-7_200_000_000_000)
        clocks.advance(10_000_000)
        XCTAssertEqual(clock.nowNs() - t0, 30_000_000, "nor does a step back")
        XCTAssertEqual(clock.systemOffsetNs(), -3_600_000_000_000)
    }

    func testTheWatchReportsEachStepOnceAndNotSmallDrift() {
        let clocks = Clocks()
        let clock = clocks.clock()
        var watch = ClockStepWatch(offsetNs: clock.systemOffsetNs())
        clocks.advance(1_000_000_000)
        XCTAssertNil(watch.check(offsetNs: clock.systemOffsetNs()))
        clocks.step(40_000_000)
        XCTAssertNil(watch.check(offsetNs: clock.systemOffsetNs()), "40 ms is below the 100 ms threshold")
        clocks.step(-3_600_000_000_000)
        XCTAssertEqual(watch.check(offsetNs: clock.systemOffsetNs()), -3_599_960_000_000)
        XCTAssertNil(watch.check(offsetNs: clock.systemOffsetNs()), "reported once")
        clocks.step(3_600_000_000_000)
        XCTAssertEqual(watch.check(offsetNs: clock.systemOffsetNs()), 3_600_000_000_000)
    }

    func testStepText() {
        XCTAssertEqual(ClockStepWatch.describe(stepNs: 3_600_000_000_000),
                       "system clock stepped by +3600.000 s; receive times follow the monotonic clock")
        XCTAssertEqual(ClockStepWatch.describe(stepNs: -1_234_567_890), "system clock stepped by -1.235 s; receive times follow the monotonic clock")
        XCTAssertEqual(ClockStepWatch.describe(stepNs: 5_000_000), "system clock stepped by +0.005 s; receive times follow the monotonic clock")
    }

    func testTheRealClocksAgreeAtTheStart() {
        let clock = SessionClock()
        XCTAssertLessThan(clock.systemOffsetNs().magnitude, 50_000_000)
        let a = clock.nowNs()
        let b = clock.nowNs()
        XCTAssertGreaterThanOrEqual(b, a)
    }
}
