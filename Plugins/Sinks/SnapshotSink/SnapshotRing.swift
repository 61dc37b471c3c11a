import Pipeline
import TrackModel

/// What fired a snapshot: stored in the `snapshot` event of the file it starts.
public struct SnapshotTrigger: Sendable, Hashable {
    /// `expression`, `signal`, `command`…: how it fired.
    public var source: String
    /// Which expression, which signal, who asked.
    public var detail: String
    /// The identity that caused it, when there is one (the frame's publisher).
    public var identity: String?
    /// The track, when a frame fired it.
    public var track: String?

    public init(source: String, detail: String, identity: String? = nil, track: String? = nil) {
        self.source = source
        self.detail = detail
        self.identity = identity
        self.track = track
    }
}

/// The flight recorder's state machine: a ring of the last `pre` of frames, at most `maxBytes`,
/// and a capture window opened by a trigger. Pure: time is passed in (frame receive times, or
/// the caller's clock in `advance`), and every call returns what to do with files.
///
/// Rules:
/// - While buffering, a frame joins the ring; frames older than the newest minus `pre` leave it,
///   and while the ring holds more than `maxBytes` the oldest frames (or the oldest sealed block)
///   leave it and are counted. A file's `evicted` count is those whose receive time is inside
///   its pre window (a block straddling the window's start counts whole).
/// - A trigger at time T opens a file with the ring's frames at or after T − `pre`, then every
///   frame until T + `post` (inclusive) goes to that file.
/// - A trigger while a file is open moves its end to T′ + `post` if that is later: one file,
///   never two overlapping ones. Its `triggers` list grows.
/// - The first frame after the end (or `advance` past it, or `finish`) closes the file; that
///   frame starts the next ring.
///
/// Frame cost in the byte bound: payload bytes plus `frameOverhead` (the Frame value, its
/// track reference, the ring slot).
public struct SnapshotRing: Sendable {
    public static let frameOverhead = 64

    public enum Action: Sendable {
        /// Open a new file starting with these frames (the pre window, oldest first; decoded a
        /// block at a time as the caller walks them). `evicted`: frames of the pre window the
        /// byte bound pushed out before the trigger.
        case open(trigger: SnapshotTrigger, atNs: Int64, contents: Contents, evicted: UInt64)
        /// A later trigger extended the open file's window.
        case extend(trigger: SnapshotTrigger, atNs: Int64, untilNs: Int64)
        /// Append these frames to the open file.
        case write([Frame])
        /// Close the open file.
        case close
    }

    /// How the ring compresses sealed blocks (the sink passes zstd; tests pass `.none`).
    public struct Codec: Sendable {
        public var compress: @Sendable ([UInt8]) throws -> [UInt8]
        public var decompress: @Sendable ([UInt8], Int) throws -> [UInt8]
        public init(compress: @escaping @Sendable ([UInt8]) throws -> [UInt8],
                    decompress: @escaping @Sendable ([UInt8], Int) throws -> [UInt8]) {
            self.compress = compress
            self.decompress = decompress
        }
        public static let none = Codec(compress: { $0 }, decompress: { b, _ in b })
    }

    /// The pre window handed to the file: sealed blocks and unsealed frames, filtered to
    /// `startNs` and decoded one block at a time, so opening a file never holds the whole
    /// window decompressed.
    public struct Contents: Sendable {
        let blocks: [SnapshotBlock]
        let tail: [Frame]
        public let startNs: Int64
        let codec: Codec

        public func forEach(_ body: (Frame) throws -> Void) throws {
            for b in blocks where b.newestNs >= startNs {
                for f in try b.frames(decompress: codec.decompress) where f.receiveTimeNs >= startNs { try body(f) }
            }
            for f in tail where f.receiveTimeNs >= startNs { try body(f) }
        }

        public func frames() throws -> [Frame] {
            var out: [Frame] = []
            try forEach { out.append($0) }
            return out
        }
    }

    public let preNs: Int64
    public let postNs: Int64
    public let maxBytes: Int
    /// Once the newest, uncompressed frames cost this much they are sealed into a compressed
    /// block; 0 keeps every frame uncompressed (byte-exact eviction, one frame at a time).
    public let blockBytes: Int
    let codec: Codec

    /// Sealed blocks, oldest first from `blockHead`; whole blocks leave the ring.
    private var blocks: [SnapshotBlock] = []
    private var blockHead = 0
    private var blockFrames = 0
    /// The newest frames, not yet sealed, oldest first from `head`.
    private var ring: [Frame] = []
    private var head = 0
    private var tailBytes = 0
    public private(set) var bufferedBytes = 0
    /// What the byte bound pushed out, as runs of receive times (oldest first from
    /// `evictionHead`); runs older than the pre window are forgotten, and past
    /// `maxEvictionRuns` the two oldest merge, so this stays small whatever the rate.
    private var evictions: [(oldestNs: Int64, newestNs: Int64, count: UInt64)] = []
    private var evictionHead = 0
    static let maxEvictionRuns = 4096
    /// Frames the byte bound pushed out whose receive time is within `pre` of the newest frame.
    public var evicted: UInt64 { evicted(since: windowStart(latestNs)) }
    /// All frames evicted by the byte bound, ever.
    public private(set) var evictedTotal: UInt64 = 0
    /// Newest receive time seen.
    public private(set) var latestNs: Int64 = .min
    /// End of the open window (inclusive), nil while buffering.
    public private(set) var captureUntilNs: Int64?

    public init(preNs: Int64, postNs: Int64, maxBytes: Int, blockBytes: Int = 0, codec: Codec = .none) {
        self.preNs = max(0, preNs)
        self.postNs = max(0, postNs)
        self.maxBytes = max(0, maxBytes)
        self.blockBytes = max(0, blockBytes)
        self.codec = codec
    }

    /// The block size the sink uses: a sixteenth of the bound, within 4 KiB…1 MiB, so evicting
    /// one block loses at most about 6% of the ring.
    public static func blockBytes(forMaxBytes maxBytes: Int) -> Int {
        min(1 << 20, max(4096, maxBytes / 16))
    }

    public var bufferedFrames: Int { ring.count - head + blockFrames }
    public var sealedBlocks: Int { blocks.count - blockHead }
    public var isCapturing: Bool { captureUntilNs != nil }

    static func cost(_ frame: Frame) -> Int { frame.payload.count + frameOverhead }

    /// A frame arrived. If `fires` is set, it also triggers (after joining the ring or window,
    /// so the triggering frame is in the file).
    public mutating func ingest(_ frame: Frame, fires trigger: SnapshotTrigger? = nil) throws -> [Action] {
        var actions: [Action] = []
        let t = frame.receiveTimeNs
        if t > latestNs { latestNs = t }
        if let until = captureUntilNs {
            if t <= until {
                actions.append(.write([frame]))
            } else {
                actions.append(.close)
                captureUntilNs = nil
                try buffer(frame)
            }
        } else {
            try buffer(frame)
        }
        if let trigger { actions += try fire(trigger, atNs: t) }
        return actions
    }

    /// A trigger at `atNs` (a frame's receive time, a signal's clock reading).
    public mutating func fire(_ trigger: SnapshotTrigger, atNs: Int64) throws -> [Action] {
        let until = atNs.addingReportingOverflow(postNs)
        let end = until.overflow ? Int64.max : until.partialValue
        if let current = captureUntilNs {
            captureUntilNs = max(current, end)
            return [.extend(trigger: trigger, atNs: atNs, untilNs: captureUntilNs!)]
        }
        let from = atNs.subtractingReportingOverflow(preNs)
        let start = from.overflow ? Int64.min : from.partialValue
        let contents = Contents(blocks: Array(blocks[blockHead...]), tail: Array(ring[head...]), startNs: start, codec: codec)
        let count = evicted(since: start)
        clear()
        evictions.removeAll()
        evictionHead = 0
        captureUntilNs = end
        return [.open(trigger: trigger, atNs: atNs, contents: contents, evicted: count)]
    }

    /// The caller's clock moved to `nowNs` with no frame: closes a window that has ended.
    public mutating func advance(toNs nowNs: Int64) -> [Action] {
        if let until = captureUntilNs, nowNs > until {
            captureUntilNs = nil
            return [.close]
        }
        return []
    }

    /// Input ended: closes the open file, if any; the ring is dropped.
    public mutating func finish() -> [Action] {
        clear()
        if captureUntilNs != nil {
            captureUntilNs = nil
            return [.close]
        }
        return []
    }

    private func windowStart(_ t: Int64) -> Int64 {
        let from = t.subtractingReportingOverflow(preNs)
        return from.overflow ? Int64.min : from.partialValue
    }

    private func evicted(since start: Int64) -> UInt64 {
        var n: UInt64 = 0
        for i in evictionHead..<evictions.count where evictions[i].newestNs >= start { n += evictions[i].count }
        return n
    }

    private mutating func noteEviction(oldestNs: Int64, newestNs: Int64, count: Int, merging: Bool) {
        evictedTotal += UInt64(count)
        if merging, evictionHead < evictions.count {
            let i = evictions.count - 1
            evictions[i].oldestNs = min(evictions[i].oldestNs, oldestNs)
            evictions[i].newestNs = max(evictions[i].newestNs, newestNs)
            evictions[i].count += UInt64(count)
            return
        }
        evictions.append((oldestNs, newestNs, UInt64(count)))
        if evictions.count - evictionHead > Self.maxEvictionRuns {
            let a = evictions[evictionHead]
            evictionHead += 1
            evictions[evictionHead].oldestNs = min(a.oldestNs, evictions[evictionHead].oldestNs)
            evictions[evictionHead].newestNs = max(a.newestNs, evictions[evictionHead].newestNs)
            evictions[evictionHead].count += a.count
        }
    }

    private mutating func clear() {
        ring.removeAll(keepingCapacity: false)
        head = 0
        tailBytes = 0
        blocks.removeAll(keepingCapacity: false)
        blockHead = 0
        blockFrames = 0
        bufferedBytes = 0
    }

    private mutating func buffer(_ frame: Frame) throws {
        ring.append(frame)
        let c = Self.cost(frame)
        bufferedBytes += c
        tailBytes += c
        // Age out: older than the newest minus pre. A block goes when its newest frame is that
        // old; unsealed frames go one by one once no block is left before them.
        let oldest = latestNs.subtractingReportingOverflow(preNs)
        let keepFrom = oldest.overflow ? Int64.min : oldest.partialValue
        while blockHead < blocks.count, blocks[blockHead].newestNs < keepFrom {
            dropBlock()
        }
        if blockHead == blocks.count {
            while head < ring.count, ring[head].receiveTimeNs < keepFrom {
                dropHead()
            }
        }
        if blockBytes > 0, tailBytes >= blockBytes, head < ring.count {
            let block = try SnapshotBlock.seal(ring[head...], compress: codec.compress)
            bufferedBytes += block.cost - tailBytes
            blockFrames += block.frameCount
            blocks.append(block)
            ring.removeAll(keepingCapacity: true)
            head = 0
            tailBytes = 0
        }
        // Byte bound: the oldest go first; counted, since they were inside the pre window.
        var lastWasFrame = false
        while bufferedBytes > maxBytes {
            if blockHead < blocks.count {
                let b = blocks[blockHead]
                dropBlock()
                noteEviction(oldestNs: b.oldestNs, newestNs: b.newestNs, count: b.frameCount, merging: false)
                lastWasFrame = false
            } else if head < ring.count {
                let t = ring[head].receiveTimeNs
                dropHead()
                // Frames evicted one by one in one call form one run.
                noteEviction(oldestNs: t, newestNs: t, count: 1, merging: lastWasFrame)
                lastWasFrame = true
            } else {
                break
            }
        }
        while evictionHead < evictions.count, evictions[evictionHead].newestNs < keepFrom {
            evictionHead += 1
        }
        if evictionHead > 256 && evictionHead * 2 > evictions.count {
            evictions.removeFirst(evictionHead)
            evictionHead = 0
        }
        if head > 1024 && head * 2 > ring.count {
            ring.removeFirst(head)
            head = 0
        }
        if blockHead > 64 && blockHead * 2 > blocks.count {
            blocks.removeFirst(blockHead)
            blockHead = 0
        }
    }

    private mutating func dropBlock() {
        bufferedBytes -= blocks[blockHead].cost
        blockFrames -= blocks[blockHead].frameCount
        blocks[blockHead].stored = []
        blocks[blockHead].tracks = []
        blockHead += 1
    }

    private mutating func dropHead() {
        let c = Self.cost(ring[head])
        bufferedBytes -= c
        tailBytes -= c
        // Release the payload now, not at compaction.
        ring[head].payload = []
        head += 1
    }
}
