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
        liveness.pinged(nowMs: 1_000, wireTimestampMs: 1_800_000_000_000)
        XCTAssertFalse(liveness.pingDue(nowMs: 5_999))
        XCTAssertTrue(liveness.pingDue(nowMs: 6_000))
        liveness.ponged(echoedMs: 1_800_000_000_000, nowMs: 1_012)
        XCTAssertEqual(liveness.rttMs, 12)
        XCTAssertFalse(liveness.timedOut(nowMs: 16_012))
        XCTAssertTrue(liveness.timedOut(nowMs: 16_013))
        // Zero from a broken server still gives a sane schedule.
        let odd = SignalLiveness(intervalSeconds: 0, timeoutSeconds: -3, nowMs: 0)
        XCTAssertEqual(odd.intervalMs, 1000)
        XCTAssertEqual(odd.timeoutMs, 1000)
    }

    /// Liveness runs on the monotonic clock; the wire timestamp (Unix ms) only pairs a pong with
    /// its ping. The system clock stepping an hour between ping and pong (the wire values jump)
    /// neither times the connection out nor spoils the round trip.
    func testAStepOfTheSystemClockIsNoTimeoutAndNoBogusRoundTrip() {
        var liveness = SignalLiveness(intervalSeconds: 5, timeoutSeconds: 15, nowMs: 50_000)
        liveness.pinged(nowMs: 50_000, wireTimestampMs: 1_800_000_000_000)
        liveness.ponged(echoedMs: 1_800_000_000_000, nowMs: 50_020)
        XCTAssertEqual(liveness.rttMs, 20)
        // Next ping after the system clock stepped back an hour: its wire value is an hour lower.
        liveness.pinged(nowMs: 55_020, wireTimestampMs: 1_800_000_000_000 - 3_600_000 + 5_020)
        liveness.ponged(echoedMs: 1_800_000_000_000 - 3_600_000 + 5_020, nowMs: 55_050)
        XCTAssertEqual(liveness.rttMs, 30)
        XCTAssertFalse(liveness.timedOut(nowMs: 60_000))
        // A pong echoing some other value keeps the connection alive but measures nothing.
        liveness.ponged(echoedMs: 42, nowMs: 60_100)
        XCTAssertEqual(liveness.rttMs, 30)
        XCTAssertFalse(liveness.timedOut(nowMs: 75_100))
        XCTAssertTrue(liveness.timedOut(nowMs: 75_101))
    }
}
