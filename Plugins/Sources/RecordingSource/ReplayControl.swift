import Recording
import Synchronization

/// Live control of an `original`-paced replay from another task or thread: `trackbag play`'s
/// space bar, and its RPC methods (docs/rpc.md).
///
/// - pause/resume: while paused no frame goes out; on resume every later deadline moves by the
///   paused time (`ReplayClock.pause/resume`), so the pacing after a pause is the recording's
///   again and the pause is not counted as lateness or drift.
/// - rate: applied while playing without a jump (`ReplayClock.setRate`: the position due now
///   stays due now); asked while paused, it applies on resume.
/// - step (while paused): the next N frames, or the frames of the next stretch of recording
///   time, go out at once; on resume the pacing continues from the last stepped frame.
/// - seek: the replay goes on from the first frame at or after the target, pacing anew from it;
///   a paused replay stays paused there.
///
/// The replay reports its position back (`reportEmitted`), so `status` says where it is.
public final class ReplayControl: Sendable {
    /// Where to seek: an offset from the session's first frame, or a receive time (Unix ns).
    public enum SeekTarget: Sendable, Equatable {
        case offset(nanoseconds: Int64)
        case unixNanoseconds(Int64)
    }

    /// What the replay is doing, for `trackbag.status` and the participant attributes.
    public struct Status: Sendable, Equatable {
        public enum State: String, Sendable { case waiting, playing, paused, ended }
        public var state: State
        public var rate: Double
        /// Receive time (Unix ns) of the last frame sent; nil before the first.
        public var positionNs: Int64?
        /// The session's first and last receive times (nil until the replay opened its files).
        public var firstNs: Int64?
        public var lastNs: Int64?
        public var framesSent: Int
        public var pauses: Int
        public var seeks: Int
        /// Frames sent by steps.
        public var steppedFrames: Int
        /// `positionNs` as an offset from the first frame.
        public var offsetNs: Int64? {
            guard let positionNs, let firstNs else { return nil }
            return positionNs - firstNs
        }
    }

    private struct State {
        /// Monotonic ns when the current pause began; nil while playing.
        var pausedAt: Int64?
        /// Woken by every command, so a waiting replay looks again.
        var waiters: [CheckedContinuation<Void, Never>] = []
        /// Commands so far: a replay that saw `n` and waits is woken at once if more came.
        var commands = 0
        var pauses = 0
        var rate: Double
        var pendingRate: Double?
        var stepFrames = 0
        var stepDurationNs: Int64?
        var stepUntilNs: Int64?
        var steppedFrames = 0
        var seek: SeekTarget?
        var seeks = 0
        var started = false
        var ended = false
        var positionNs: Int64?
        var firstNs: Int64?
        var lastNs: Int64?
        var framesSent = 0
    }

    private let state: Mutex<State>

    public init(rate: Double = 1) {
        state = Mutex(State(rate: rate))
    }

    public var isPaused: Bool { state.withLock { $0.pausedAt != nil } }
    /// How many times it was paused.
    public var pauseCount: Int { state.withLock { $0.pauses } }
    /// Monotonic ns when the current pause began; nil while playing.
    var pausedSince: Int64? { state.withLock { $0.pausedAt } }

    public var status: Status {
        state.withLock { s in
            let current: Status.State = s.ended ? .ended : s.pausedAt != nil ? .paused : s.started ? .playing : .waiting
            return Status(state: current, rate: s.pendingRate ?? s.rate, positionNs: s.positionNs, firstNs: s.firstNs,
                          lastNs: s.lastNs, framesSent: s.framesSent, pauses: s.pauses, seeks: s.seeks,
                          steppedFrames: s.steppedFrames)
        }
    }

    public func pause() {
        state.withLock { s in
            guard s.pausedAt == nil else { return }
            s.pausedAt = ReplayClock.now()
            s.pauses += 1
        }
        wake()
    }

    public func resume() {
        state.withLock { s in
            s.pausedAt = nil
            // Steps not taken yet do not outlive the pause.
            s.stepFrames = 0
            s.stepDurationNs = nil
            s.stepUntilNs = nil
        }
        wake()
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

    /// Sets the speed factor (> 0, finite); false when refused.
    @discardableResult
    public func setRate(_ rate: Double) -> Bool {
        guard rate > 0, rate.isFinite else { return false }
        state.withLock { $0.pendingRate = rate }
        wake()
        return true
    }

    /// While paused: the next `frames` frames go out at once. False when playing (a step is a
    /// paused replay's move) or `frames` < 1.
    @discardableResult
    public func step(frames: Int) -> Bool {
        guard frames > 0 else { return false }
        let ok = state.withLock { s -> Bool in
            guard s.pausedAt != nil else { return false }
            s.stepFrames += frames
            return true
        }
        if ok { wake() }
        return ok
    }

    /// While paused: every frame up to `nanoseconds` of recording time past the position goes
    /// out at once.
    @discardableResult
    public func step(nanoseconds: Int64) -> Bool {
        guard nanoseconds > 0 else { return false }
        let ok = state.withLock { s -> Bool in
            guard s.pausedAt != nil else { return false }
            s.stepDurationNs = nanoseconds
            s.stepUntilNs = nil
            return true
        }
        if ok { wake() }
        return ok
    }

    /// Seeks to `target`; nil when accepted, else why not (outside the session, no session yet).
    public func seek(_ target: SeekTarget) -> String? {
        let refusal = state.withLock { s -> String? in
            guard let first = s.firstNs, let last = s.lastNs else { return "the replay has not opened its recording yet" }
            let ns = Self.resolve(target, firstNs: first)
            guard ns >= first, ns <= last else {
                return "target \(ns) ns is outside the session (\(first)…\(last) ns, offsets 0…\(last - first) ns)"
            }
            s.seek = target
            s.seeks += 1
            s.stepFrames = 0
            s.stepDurationNs = nil
            s.stepUntilNs = nil
            return nil
        }
        if refusal == nil { wake() }
        return refusal
    }

    static func resolve(_ target: SeekTarget, firstNs: Int64) -> Int64 {
        switch target {
        case .offset(let ns):
            let (sum, overflow) = firstNs.addingReportingOverflow(ns)
            return overflow ? .max : sum
        case .unixNanoseconds(let ns): return ns
        }
    }

    // MARK: The replay's side

    /// The session's time range, once the files are open.
    func begin(firstNs: Int64, lastNs: Int64) {
        state.withLock { s in
            s.firstNs = firstNs
            s.lastNs = lastNs
            s.started = true
        }
    }

    func finish() {
        state.withLock { $0.ended = true }
        wake()
    }

    func reportEmitted(lastNs: Int64, frames: Int) {
        state.withLock { s in
            s.positionNs = lastNs
            s.framesSent += frames
        }
    }

    /// A seek asked for, resolved to a receive time.
    func takeSeek() -> Int64? {
        state.withLock { s in
            guard let target = s.seek, let first = s.firstNs else { return nil }
            s.seek = nil
            return Self.resolve(target, firstNs: first)
        }
    }

    /// A rate asked for; only taken while playing (a paused clock must not be re-anchored).
    func takeRate() -> Double? {
        state.withLock { s in
            guard s.pausedAt == nil, let rate = s.pendingRate else { return nil }
            s.pendingRate = nil
            s.rate = rate
            return rate
        }
    }

    /// While paused: whether the frame at `frameNs` goes out now as part of a step.
    func takeStep(frameNs: Int64, positionNs: Int64?) -> Bool {
        state.withLock { s in
            guard s.pausedAt != nil else { return false }
            if s.stepFrames > 0 {
                s.stepFrames -= 1
                s.steppedFrames += 1
                return true
            }
            if let duration = s.stepDurationNs {
                let from = positionNs ?? frameNs
                let (until, overflow) = from.addingReportingOverflow(duration)
                s.stepUntilNs = overflow ? .max : until
                s.stepDurationNs = nil
            }
            if let until = s.stepUntilNs {
                if frameNs <= until {
                    s.steppedFrames += 1
                    return true
                }
                s.stepUntilNs = nil
            }
            return false
        }
    }

    /// How many commands came so far (read before looking at the state, then `waitForCommand`).
    var commandCount: Int { state.withLock { $0.commands } }

    /// Waits until a command after the `seen`-th arrives (or the task is cancelled).
    func waitForCommand(after seen: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    guard s.commands == seen, !Task.isCancelled else { return true }
                    s.waiters.append(continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            self.wake()
        }
    }

    private func wake() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.commands += 1
            defer { s.waiters = [] }
            return s.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Thrown inside a replay pass to start it again from a seek target (receive time, Unix ns).
struct SeekRequest: Error {
    var targetNs: Int64
}
