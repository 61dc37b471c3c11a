@testable import RoomClient
import XCTest

/// The reconnect schedule and ping liveness, driven by a fake clock.
final class ReconnectTests: XCTestCase {
    actor FakeClock {
        var slept: [Duration] = []
        func sleep(_ duration: Duration) { slept.append(duration) }
    }

    struct Refused: Error {}

    func testRetriesWithGrowingPausesUntilSuccess() async throws {
        let clock = FakeClock()
        let schedule = ReconnectSchedule(maxAttempts: 10, delays: [.zero, .milliseconds(300), .seconds(1)])
        actor Attempts { var count = 0; func next() -> Int { count += 1; return count } }
        let attempts = Attempts()
        let winner = try await schedule.run(sleep: { await clock.sleep($0) }) { _ in
            if await attempts.next() < 4 { throw Refused() }
        }
        XCTAssertEqual(winner, 3)
        let slept = await clock.slept
        // Attempt 0 at once, then 300 ms, 1 s, 1 s (the last delay repeats).
        XCTAssertEqual(slept, [.milliseconds(300), .seconds(1), .seconds(1)])
    }

    func testGivesUpAfterMaxAttempts() async {
        let clock = FakeClock()
        let schedule = ReconnectSchedule(maxAttempts: 3, delays: [.zero, .seconds(2)])
        do {
            _ = try await schedule.run(sleep: { await clock.sleep($0) }) { _ in throw Refused() }
            XCTFail("should give up")
        } catch let error as RoomClientError {
            guard case .timeout = error else { return XCTFail("\(error)") }
        } catch {
            XCTFail("\(error)")
        }
        let slept = await clock.slept
        XCTAssertEqual(slept, [.seconds(2), .seconds(2)])
        XCTAssertNil(schedule.delay(before: 3))
        XCTAssertEqual(ReconnectSchedule.standard.delay(before: 0), .zero)
    }

    func testPingEveryIntervalAndTimeoutWithoutPong() {
        var liveness = SignalLiveness(intervalSeconds: 5, timeoutSeconds: 15, nowMs: 1_000)
        XCTAssertTrue(liveness.pingDue(nowMs: 1_000), "first ping at once, as the SDK after join")
        liveness.pinged(nowMs: 1_000)
        XCTAssertFalse(liveness.pingDue(nowMs: 5_999))
        XCTAssertTrue(liveness.pingDue(nowMs: 6_000))
        liveness.ponged(sentMs: 1_000, nowMs: 1_012)
        XCTAssertEqual(liveness.rttMs, 12)
        XCTAssertFalse(liveness.timedOut(nowMs: 16_012))
        XCTAssertTrue(liveness.timedOut(nowMs: 16_013))
        // Zero from a broken server still gives a sane schedule.
        let odd = SignalLiveness(intervalSeconds: 0, timeoutSeconds: -3, nowMs: 0)
        XCTAssertEqual(odd.intervalMs, 1000)
        XCTAssertEqual(odd.timeoutMs, 1000)
    }
}
