/// The 90 kHz packet timestamp of one track (packet v0: "equivalent to RTP media timestamp"):
/// a random base drawn once per track plus the time since the track's epoch, rounded to the
/// nearest tick, wrapping at 2^32, and never running backwards (a timestamp before the previous
/// one, in serial-number order, repeats the previous one). Same rule as LiveKit's SDKs.
public struct MediaClock: Sendable {
    public static let rate: Int64 = 90_000
    public let base: UInt32
    public let epoch: ContinuousClock.Instant
    private var previous: UInt32

    /// `base` defaults to a random value (per track, so timestamps reveal nothing of wall time).
    public init(base: UInt32 = UInt32.random(in: .min ... .max), epoch: ContinuousClock.Instant = .now) {
        self.base = base
        self.epoch = epoch
        self.previous = base
    }

    public mutating func now() -> UInt32 { timestamp(at: .now) }

    public mutating func timestamp(at instant: ContinuousClock.Instant) -> UInt32 {
        let elapsed = instant - epoch
        let (seconds, attoseconds) = elapsed.components
        var ts = previous
        if seconds >= 0 && attoseconds >= 0 {
            // Split so the product cannot overflow: whole seconds, then rounded sub-second nanos.
            let nanos = attoseconds / 1_000_000_000
            let ticks = seconds &* Self.rate &+ (nanos * Self.rate + 500_000_000) / 1_000_000_000
            ts = base &+ UInt32(truncatingIfNeeded: ticks)
        }
        if Int32(bitPattern: ts &- previous) < 0 { ts = previous }
        previous = ts
        return ts
    }
}
