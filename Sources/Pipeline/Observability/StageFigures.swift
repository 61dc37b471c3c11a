import TrackModel

/// What a stage can tell while it runs, beyond the runtime's own counters: per-track frames,
/// bytes and drops by reason, and figures of its own (reconnects, file size, replay position).
/// The live status view and the metrics endpoint read the same figures.
public struct StageFigures: Sendable, Hashable {
    public var tracks: [TrackKey: TrackFigures] = [:]
    /// Frames lost before they could be tied to a track, by reason.
    public var untrackedDrops: [String: UInt64] = [:]
    /// Counts that only grow (`reconnects`).
    public var counters: [String: UInt64] = [:]
    /// Current values (`file_bytes`, `replay_position_seconds`…), in base units.
    public var gauges: [String: Double] = [:]

    public init() {}
}

/// One track's figures at one stage.
public struct TrackFigures: Sendable, Hashable {
    public var frames: UInt64 = 0
    public var bytes: UInt64 = 0
    /// Frames lost on this track, by reason (the reasons of docs/losses.md).
    public var dropped: [String: UInt64] = [:]
    /// Frames a receiver never saw, from skipped frame numbers (lost before it: by the sender,
    /// the link or the server); nil where the stage cannot know (not a receiver).
    public var missing: UInt64?

    public init(frames: UInt64 = 0, bytes: UInt64 = 0, dropped: [String: UInt64] = [:], missing: UInt64? = nil) {
        self.frames = frames
        self.bytes = bytes
        self.dropped = dropped
        self.missing = missing
    }

    public var droppedTotal: UInt64 { dropped.values.reduce(0, +) }
}

/// A stage that reports figures while it runs. Called from another task a few times a second:
/// it must answer from counters it keeps anyway, without waiting on its own work.
public protocol StageMonitoring: Sendable {
    func figures() async -> StageFigures
}
