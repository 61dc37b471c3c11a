import TrackModel
import Codecs

/// The one unit that flows through every pipeline stage (docs/ARCHITECTURE.md).
///
/// Invariant: no stage changes `userTimestamp` unless its documented job is to; the property
/// test in PipelineTests checks that every built-in stage passes it through untouched.
public struct Frame: Sendable, Hashable {
    /// The track it belongs to (identity, name, sid, encoding, schema).
    public var track: TrackInfo
    /// Raw payload bytes as published (ciphertext for E2EE passthrough tracks). May be empty.
    public var payload: [UInt8]
    /// The publisher's 64-bit user timestamp, if it set one; unit is the publisher's business.
    public var userTimestamp: UInt64?
    /// When the frame was received, Unix epoch nanoseconds. Replay paces on this.
    public var receiveTimeNs: Int64
    /// Position in the source's output, counted per source from 0.
    public var sequence: UInt64
    /// The decoded payload, once a `decode` stage has run.
    public var value: Value?

    public init(track: TrackInfo, payload: [UInt8], userTimestamp: UInt64?, receiveTimeNs: Int64,
                sequence: UInt64 = 0, value: Value? = nil) {
        self.track = track
        self.payload = payload
        self.userTimestamp = userTimestamp
        self.receiveTimeNs = receiveTimeNs
        self.sequence = sequence
        self.value = value
    }
}

/// What crosses an edge: frames in order, plus session events (join, publish, drops…) that
/// sinks such as `recording` store. Edges move batches because a hop between tasks costs about
/// a microsecond (docs/ARCHITECTURE.md).
public struct Batch: Sendable {
    public var frames: [Frame]
    public var events: [SessionEvent]
    public init(frames: [Frame] = [], events: [SessionEvent] = []) {
        self.frames = frames
        self.events = events
    }
    public var isEmpty: Bool { frames.isEmpty && events.isEmpty }
}
