/// What an edge does when its queue is full (docs/ARCHITECTURE.md).
public enum OverflowPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// The producer waits: nothing is lost. Default below file sources.
    case block
    /// The oldest queued batches are dropped (counted): real time wins. Default below live sources.
    case dropOldest = "drop-oldest"
    /// The incoming batch is dropped (counted) while the queue is full.
    case dropNewest = "drop-newest"
}

/// The bounded queue in front of a transform or sink, shared by all of its inputs.
///
/// Capacity is counted in **frames**, not batches, so a file source's large batches and a live
/// source's one-frame batches bound memory alike. A batch is admitted while fewer than
/// `capacity` frames are queued, so one batch larger than the capacity still passes (never a
/// deadlock); the queue therefore holds at most `capacity` plus one batch of frames.
public struct EdgeBuffer: Sendable, Hashable {
    public static let defaultCapacity = 4096

    public var capacity: Int
    /// nil: the default for the stage's upstream (drop-oldest when a live source feeds it, else block).
    public var policy: OverflowPolicy?

    public init(capacity: Int = EdgeBuffer.defaultCapacity, policy: OverflowPolicy? = nil) {
        self.capacity = max(1, capacity)
        self.policy = policy
    }
}

/// `buffer: {size: N, when_full: block|drop-oldest|drop-newest}` as written in a config; the
/// values are checked by `PipelineConfig.compile`, so both can be reported at once.
struct EdgeBufferOptions: Decodable {
    var size: Int?
    var whenFull: String?

    enum CodingKeys: String, CodingKey {
        case size
        case whenFull = "when_full"
    }
}
