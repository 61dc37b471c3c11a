#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A one-line progress display on stderr for long exports and imports: frames, MB, MB/s and,
/// when a total is known (input bytes or frames), percent and ETA. Silent unless stderr is a terminal (so logs and
/// pipes stay clean) or `force` is set. Redraws at most every `interval`.
public final class ProgressReporter: Sendable {
    private struct State {
        var frames: UInt64 = 0
        var bytes: UInt64 = 0
        var position: Int64 = 0
        var lastDraw: ContinuousClock.Instant
        var drew = false
    }

    public let label: String
    /// Total input bytes (for percent and ETA), when known; `advance(position:)` says how far.
    public let totalBytes: Int64?
    /// Total frames expected (for percent and ETA), when known and no byte total is given.
    public let totalFrames: UInt64?
    public let enabled: Bool
    private let start = ContinuousClock.now
    private let interval: Duration
    private let state: Mutex<State>

    public init(label: String, totalBytes: Int64? = nil, totalFrames: UInt64? = nil, force: Bool = false,
                interval: Duration = .milliseconds(250)) {
        self.label = label
        self.totalBytes = totalBytes
        self.totalFrames = totalFrames
        self.enabled = force || isatty(2) != 0
        self.interval = interval
        state = Mutex(State(lastDraw: ContinuousClock.now))
    }

    /// Adds frames and payload bytes; `position` is how far into the input (bytes) we are.
    public func advance(frames: Int, bytes: Int, position: Int64? = nil) {
        guard enabled else { return }
        let line: String? = state.withLock { s in
            s.frames += UInt64(frames)
            s.bytes += UInt64(bytes)
            if let position { s.position = position }
            let now = ContinuousClock.now
            guard now - s.lastDraw >= interval else { return nil }
            s.lastDraw = now
            s.drew = true
            return render(s, now: now)
        }
        if let line { draw("\r" + line) }
    }

    /// Draws the final line and a newline (only if anything was drawn or `always`).
    public func finish(always: Bool = false) {
        guard enabled else { return }
        let line: String? = state.withLock { s in
            guard s.drew || always else { return nil }
            if let totalBytes { s.position = totalBytes }
            return render(s, now: ContinuousClock.now)
        }
        if let line { draw("\r" + line + "\n") }
    }

    private func render(_ s: State, now: ContinuousClock.Instant) -> String {
        let elapsed = max(seconds(now - start), 1e-9)
        let mb = Double(s.bytes) / 1e6
        var line = "\(label): \(s.frames) frames, \(fixed(mb, 1)) MB, \(fixed(mb / elapsed, 1)) MB/s, "
            + "\(Int(Double(s.frames) / elapsed)) frames/s"
        let fraction: Double? = if let totalBytes, totalBytes > 0 {
            Double(s.position) / Double(totalBytes)
        } else if let totalFrames, totalFrames > 0 {
            Double(s.frames) / Double(totalFrames)
        } else {
            nil
        }
        if let done = fraction {
            line += ", \(fixed(done * 100, 1))%"
            if done > 0.001 && done < 1 {
                line += ", ETA \(Int((elapsed / done - elapsed).rounded()))s"
            }
        }
        return line + "   "
    }

    private func draw(_ text: String) {
        var t = text
        t.withUTF8 { u in _ = write(2, u.baseAddress, u.count) }
    }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    private func fixed(_ v: Double, _ digits: Int) -> String {
        var p = 1.0
        for _ in 0..<digits { p *= 10 }
        let r = (v * p).rounded() / p
        return String(r)
    }
}
