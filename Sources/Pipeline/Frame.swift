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

    /// The frames' payload bytes, read in place (iterating `frames` by value would retain and
    /// release each frame's track, payload and value).
    public var payloadBytes: Int {
        frames.withUnsafeBufferPointer { frames in
            var bytes = 0
            for i in frames.indices { bytes &+= frames[i].payload.count }
            return bytes
        }
    }

    /// Keeps, in order, the frames for which `body` returns true, after `body` has changed
    /// each as it likes. When the batch holds its frames alone (a transform takes its batch
    /// `consuming`, and queues hand theirs over), this works in the batch's own storage: a kept
    /// frame is moved, never copied, so it costs no retain and no release of its track,
    /// payload and value; a dropped frame is released once.
    public mutating func updateFrames(_ body: (inout Frame) -> Bool) {
        var kept = 0
        frames.withUnsafeMutableBufferPointer { frames in
            for i in frames.indices where body(&frames[i]) {
                if kept != i { frames.swapAt(kept, i) }
                kept += 1
            }
        }
        frames.removeSubrange(kept...)
    }
}
