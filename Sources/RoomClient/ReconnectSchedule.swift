/// When to try re-joining after the signal or peer connection was lost: at once, then with
/// growing pauses, as LiveKit's SDKs do (rust-sdks `rtc_engine` retries with a short back-off),
/// giving up after `maxAttempts`. Pure, so tests drive it with a fake clock.
struct ReconnectSchedule: Sendable, Equatable {
    var maxAttempts: Int
    var delays: [Duration]

    static let standard = ReconnectSchedule(
        maxAttempts: 30,
        delays: [.zero, .milliseconds(300), .milliseconds(600), .seconds(1), .seconds(2)])

    /// The pause before attempt `attempt` (0-based); nil when there is no such attempt.
    func delay(before attempt: Int) -> Duration? {
        guard attempt >= 0, attempt < maxAttempts else { return nil }
        guard let last = delays.last else { return .zero }
        return attempt < delays.count ? delays[attempt] : last
    }

    /// Runs attempts until one succeeds or the schedule is exhausted; `sleep` is the clock, so
    /// tests pass a fake one. Returns the number of the successful attempt (0-based).
    func run(isolation: isolated (any Actor)? = #isolation,
             sleep: (Duration) async throws -> Void,
             attempt: (Int) async throws -> Void) async throws -> Int {
        var lastError: (any Error)?
        var number = 0
        while let pause = delay(before: number) {
            try Task.checkCancellation()
            if pause > .zero { try await sleep(pause) }
            do {
                try await attempt(number)
                return number
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                lastError = error
            }
            number += 1
        }
        throw RoomClientError.timeout("reconnect: \(maxAttempts) attempts failed, last: \(lastError.map { "\($0)" } ?? "none")")
    }
}

/// Ping bookkeeping (docs/WIRE.md): `ping_req` every `ping_interval`, and the connection counts
/// as lost when no `pong_resp` came for `ping_timeout`. Times are milliseconds of a monotonic
/// clock: a step of the system clock must not look like a lost connection. The ping's wire
/// timestamp (Unix ms, as LiveKit's SDKs send it) only matches a pong to its ping.
struct SignalLiveness: Sendable, Equatable {
    var intervalMs: Int64
    var timeoutMs: Int64
    private(set) var lastPongMs: Int64
    private(set) var lastPingMs: Int64?
    private var lastPingWireMs: Int64?
    private(set) var rttMs: Int64 = 0

    init(intervalSeconds: Int32, timeoutSeconds: Int32, nowMs: Int64) {
        intervalMs = Int64(max(1, intervalSeconds)) * 1000
        timeoutMs = Int64(max(1, timeoutSeconds)) * 1000
        lastPongMs = nowMs
    }

    func pingDue(nowMs: Int64) -> Bool {
        guard let last = lastPingMs else { return true }
        return nowMs - last >= intervalMs
    }

    /// A ping went out at `nowMs` carrying `wireTimestampMs`.
    mutating func pinged(nowMs: Int64, wireTimestampMs: Int64) {
        lastPingMs = nowMs
        lastPingWireMs = wireTimestampMs
    }

    /// A pong that echoes `echoedMs` (0: a plain `pong`): the connection lives; when it echoes
    /// our last ping, the round trip is measured on the monotonic clock.
    mutating func ponged(echoedMs: Int64, nowMs: Int64) {
        lastPongMs = nowMs
        if echoedMs != 0, echoedMs == lastPingWireMs, let sent = lastPingMs, nowMs >= sent { rttMs = nowMs - sent }
    }

    func timedOut(nowMs: Int64) -> Bool { nowMs - lastPongMs > timeoutMs }
}
