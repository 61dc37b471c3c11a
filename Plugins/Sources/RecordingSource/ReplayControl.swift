import Recording
import Synchronization

/// Pause and resume for an `original`-paced replay, from another task or thread (`trackbag
/// play`'s space bar). While paused no frame goes out; on resume every later deadline moves by
/// the paused time (`ReplayClock.pause/resume`), so the pacing after a pause is the recording's
/// again and the pause is not counted as lateness or drift.
public final class ReplayControl: Sendable {
    private struct State {
        /// Monotonic ns when the current pause began; nil while playing.
        var pausedAt: Int64?
        var resumeWaiters: [CheckedContinuation<Void, Never>] = []
        var pauses = 0
    }

    private let state = Mutex(State())

    public init() {}

    public var isPaused: Bool { state.withLock { $0.pausedAt != nil } }
    /// How many times it was paused.
    public var pauseCount: Int { state.withLock { $0.pauses } }

    public func pause() {
        state.withLock { s in
            guard s.pausedAt == nil else { return }
            s.pausedAt = ReplayClock.now()
            s.pauses += 1
        }
    }

    public func resume() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.pausedAt = nil
            defer { s.resumeWaiters = [] }
            return s.resumeWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Pauses when playing, resumes when paused; true when now paused.
    @discardableResult
    public func toggle() -> Bool {
        if isPaused {
            resume()
            return false
        }
        pause()
        return true
    }

    /// When paused: moves `clock` into the pause (from when it began), waits for `resume` (or
    /// cancellation) and moves it out. False when not paused.
    func holdIfPaused(_ clock: inout ReplayClock) async -> Bool {
        guard let since = state.withLock({ $0.pausedAt }) else { return false }
        clock.pause(now: since)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let playing = state.withLock { s -> Bool in
                    guard s.pausedAt != nil else { return true }
                    s.resumeWaiters.append(continuation)
                    return false
                }
                if playing { continuation.resume() }
            }
        } onCancel: {
            // A stop while paused ends the wait; the replay then sees the cancellation.
            resume()
        }
        clock.resume()
        return true
    }
}
