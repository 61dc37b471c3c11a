/// A k-way merge over chunks in receive-time order (MCAP readers do the same over their chunk
/// index): chunk rows come from SQLite ordered by `start_ns`; a chunk is decompressed only when
/// its start is not later than the earliest frame already pending, and a min-heap of chunk
/// positions yields frames by (receive time, chunk id). Frames are exactly time-ordered when each
/// track's frames were appended in time order (always so for live recordings); otherwise
/// frames keep their written order within a chunk.
///
/// Memory is bounded whatever the file declares: a chunk's `raw_size` is checked against
/// `RecordingFormat.maxChunkRawSize` before anything is allocated, and the decompressed chunks
/// held at once stay within `residentByteLimit`. A chunk that would exceed it waits compressed
/// (keyed by its row's `start_ns`) until it is the earliest; then the loaded chunk whose next
/// frame is latest is dropped and decompressed again when its turn comes (its position is kept).
/// Honest files with many overlapping tracks stay far below the limit; only files with many
/// huge overlapping chunks pay the re-decompression.
///
/// Use `next()` for owned frames, or `advance()` plus the `current…` accessors to visit payloads
/// without copying them.
public final class FrameCursor {
    private let reader: RecordingReader
    private let selection: FrameSelection
    private let rows: SQLiteStatement
    @exclusivity(unchecked) private var rowPending: Bool
    @exclusivity(unchecked) private var pendingStartNs: Int64 = 0
    let decompressor: ZstdDecompressor
    private let startNs: Int64
    private let endNs: Int64

    /// Most decompressed bytes held at once; by default two chunks of the largest allowed size.
    /// A single chunk above it is still loaded, alone.
    var residentByteLimit = Int(RecordingFormat.maxChunkRawSize) * 2
    /// The most decompressed bytes held at once so far (tests check the bound).
    private(set) var peakResidentBytes = 0
    /// Bytes decompressed for the first time, and again after a drop: re-decompression may
    /// cost at most as much as first decompression plus `residentByteLimit`, so a file whose
    /// overlapping chunks cannot be merged within the limit ends in an error, not in hours of
    /// work.
    private(set) var firstDecompressedBytes = 0
    private(set) var redecompressedBytes = 0
    /// Point query to decompress a chunk again, prepared on first need.
    private var chunkByID: SQLiteStatement?

    // Exclusivity: the fields read or written per frame are marked `@exclusivity(unchecked)`.
    // A cursor belongs to one reader (it is not Sendable) and no access to them overlaps
    // another (`step` works on locals and stores back once); the dynamic checks
    // (`swift_beginAccess`, a thread-local access set per access) were 6–7 % of the offline
    // pipeline's profile samples (docs/schemas.md).

    /// A chunk being walked: decompressed (`isLoaded`), or waiting compressed with `record`
    /// holding its row's `start_ns` (never loaded) or its next frame (dropped under pressure).
    final class Position {
        var chunkID: Int64 = 0
        var trackID = 0
        var rawSize = 0
        var isLoaded = false
        var wasStarted = false
        @exclusivity(unchecked) var body: [UInt8] = []
        @exclusivity(unchecked) var decoder = ChunkDecoder()
        @exclusivity(unchecked) var record = ChunkRecord(receiveTimeNs: 0, userTimestamp: nil, payloadOffset: 0, payloadCount: 0)
        @exclusivity(unchecked) var framesSeen = 0
        var frameCount = 0
    }
    @exclusivity(unchecked) private var heap: [Position] = []
    /// Each heap entry's order key, kept beside it: sifting compares plain integers instead of
    /// reading (retaining and releasing) two positions per comparison.
    @exclusivity(unchecked) private var keys: [HeapKey] = []
    private var spare: [Position] = []

    init(reader: RecordingReader, selection: FrameSelection) throws {
        self.reader = reader
        self.selection = selection
        startNs = selection.startNs ?? .min
        endNs = selection.endNs ?? .max
        decompressor = try ZstdDecompressor()
        // Chunks that may hold frames at or after `start` begin no earlier than start minus the
        // longest chunk span: that bound lets the time index serve the seek.
        var lower = Int64.min
        if startNs != .min, let span = try reader.db.scalarInt("SELECT MAX(end_ns - start_ns) FROM chunks") {
            lower = startNs &- span
            if lower > startNs { lower = .min }
        }
        var sql = """
            SELECT id, track_id, start_ns, end_ns, frame_count, raw_size, codec, data FROM chunks
            WHERE start_ns >= ?1 AND start_ns <= ?2 AND end_ns >= ?3
            """
        if let ids = selection.trackIDs {
            sql += " AND track_id IN (\(ids.sorted().map(String.init).joined(separator: ",")))"
        }
        sql += " ORDER BY start_ns, id"
        rows = try reader.db.prepare(sql)
        rows.bind(1, lower)
        rows.bind(2, endNs)
        rows.bind(3, startNs)
        rowPending = false
        try stepRow()
    }

    private func stepRow() throws {
        do {
            rowPending = try rows.step()
        } catch let e as RecordingError {
            throw e.at("reading the chunk index")
        }
        if rowPending { pendingStartNs = rows.int64(2) }
    }

    /// Moves to the next selected frame; false at the end. After true, the `current…`
    /// accessors describe it until the next call.
    ///
    /// The current frame is the heap's top: advancing steps that position and sifts it down
    /// in place (one sift instead of a pop and a push per frame).
    @inline(__always)
    public func advance() throws -> Bool {
        if hasCurrent {
            let c = heap[0]
            if try step(c) {
                topMoved(c)
            } else {
                removeTop()
                recycle(c)
            }
        }
        var earliest: Position?
        while true {
            // Take every chunk that may start before the earliest pending frame.
            while rowPending, keys.isEmpty || pendingStartNs <= keys[0].receiveTimeNs {
                let p = try loadRow()
                try stepRow()
                if let p { push(p) }
            }
            // The earliest may still wait compressed: load it, and look again.
            guard let top = heap.first else { break }
            if top.isLoaded {
                earliest = top
                break
            }
            if try load(top) {
                topMoved(top)
            } else {
                removeTop()
                recycle(top)
            }
        }
        hasCurrent = earliest != nil
        // Copied out once here: read through the heap's top, each accessor below retained
        // and released the position, several times per frame.
        if let top = earliest {
            currentTrackID = top.trackID
            currentReceiveTimeNs = top.record.receiveTimeNs
            currentUserTimestamp = top.record.userTimestamp
        } else {
            currentTrackID = 0
            currentReceiveTimeNs = 0
            currentUserTimestamp = nil
        }
        return hasCurrent
    }

    @exclusivity(unchecked) private var hasCurrent = false
    private var current: Position? { hasCurrent ? heap[0] : nil }

    @exclusivity(unchecked) public private(set) var currentTrackID = 0
    @exclusivity(unchecked) public private(set) var currentReceiveTimeNs: Int64 = 0
    @exclusivity(unchecked) public private(set) var currentUserTimestamp: UInt64?
    /// Calls `body` with the current payload, valid only inside the call.
    public func withCurrentPayload<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        guard let c = current else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try c.body.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[c.record.payloadOffset..<(c.record.payloadOffset + c.record.payloadCount)]))
        }
    }

    /// The next selected frame, or nil at the end.
    public func next() throws -> RecordedFrame? {
        guard try advance(), let c = current else { return nil }
        let r = c.record
        return RecordedFrame(trackID: c.trackID, receiveTimeNs: r.receiveTimeNs, userTimestamp: r.userTimestamp,
                             payload: Array(c.body[r.payloadOffset..<(r.payloadOffset + r.payloadCount)]))
    }

    /// Makes a position for the current row: decompressed at its first selected frame when the
    /// resident limit allows (nil when the chunk holds none in the window), else waiting
    /// compressed, keyed by the row's `start_ns`.
    private func loadRow() throws -> Position? {
        let chunkID = rows.int64(0)
        let trackID = Int(truncatingIfNeeded: rows.int64(1))
        let place = "chunk \(chunkID) (track \(trackID))"
        let frameCount = rows.int64(4)
        let rawSize = rows.int64(5)
        let codec = rows.string(6) ?? ""
        let blob = rows.blob(7)
        guard frameCount >= 0, frameCount <= rawSize else {
            throw RecordingError(.corrupt, "frame_count \(frameCount) is outside 0…raw_size (\(rawSize))", file: reader.path, place: place)
        }
        do {
            try RecordingFormat.checkChunkSizes(rawSize: rawSize, storedSize: blob.count, codec: codec)
        } catch let e as RecordingError {
            throw e.inFile(reader.path).at(place)
        }
        let p = spare.popLast() ?? Position()
        p.chunkID = chunkID
        p.trackID = trackID
        p.rawSize = Int(rawSize)
        p.decoder = ChunkDecoder()
        p.framesSeen = 0
        p.frameCount = Int(frameCount)
        p.isLoaded = false
        p.wasStarted = false
        p.record = ChunkRecord(receiveTimeNs: rows.int64(2), userTimestamp: nil, payloadOffset: 0, payloadCount: 0)
        guard residentBytes(excluding: p) + p.rawSize <= residentByteLimit else { return p }
        try decompress(p, codec: codec, blob: blob)
        firstDecompressedBytes += p.rawSize
        return try start(p) ? p : { recycle(p); return nil }()
    }

    /// Decompresses a waiting position (dropping others while over the limit) and moves it to
    /// its first selected frame, or back to where it was; false when it holds no more.
    private func load(_ p: Position) throws -> Bool {
        while residentBytes(excluding: p) + p.rawSize > residentByteLimit {
            // Drop the loaded chunk needed last; free its spare buffers first.
            if let s = spare.firstIndex(where: { $0.body.capacity > 0 }) {
                spare[s].body = []
                continue
            }
            guard let victim = heap.filter({ $0 !== p && $0.isLoaded }).max(by: Self.less) else { break }
            victim.body = []
            victim.isLoaded = false
        }
        if p.wasStarted {
            redecompressedBytes += p.rawSize
            guard redecompressedBytes <= firstDecompressedBytes + residentByteLimit else {
                throw RecordingError(.corrupt,
                                     "chunks overlapping in time need more than the \(residentByteLimit) bytes this reader holds decompressed at once "
                                     + "(\(redecompressedBytes) bytes decompressed again so far); `trackbag doctor --repair` re-chunks the file",
                                     file: reader.path, place: "chunk \(p.chunkID) (track \(p.trackID))")
            }
        } else {
            firstDecompressedBytes += p.rawSize
        }
        if chunkByID == nil { chunkByID = try reader.db.prepare("SELECT codec, data FROM chunks WHERE id = ?") }
        guard let q = chunkByID else { return false }
        q.bind(1, p.chunkID)
        defer { q.reset() }
        guard try q.step() else {
            throw RecordingError(.corrupt, "row vanished while reading", file: reader.path, place: "chunk \(p.chunkID) (track \(p.trackID))")
        }
        try decompress(p, codec: q.string(0) ?? "", blob: q.blob(1))
        return p.wasStarted ? true : try start(p)
    }

    private func decompress(_ p: Position, codec: String, blob: UnsafeRawBufferPointer) throws {
        do {
            switch codec {
            case RecordingFormat.codecZstd:
                try decompressor.decompress(blob, expectedSize: p.rawSize, into: &p.body)
            case RecordingFormat.codecNone:
                guard blob.count == p.rawSize else {
                    throw RecordingError(.corrupt, "blob is \(blob.count) bytes, raw_size says \(p.rawSize)")
                }
                p.body.removeAll(keepingCapacity: true)
                p.body.append(contentsOf: blob)
            default:
                throw RecordingError(.corrupt, "unknown chunk codec '\(codec)' (version 1 knows zstd and none)")
            }
        } catch let e as RecordingError {
            throw e.inFile(reader.path).at("chunk \(p.chunkID) (track \(p.trackID))")
        }
        p.isLoaded = true
        peakResidentBytes = max(peakResidentBytes, residentBytes(excluding: nil))
    }

    private func start(_ p: Position) throws -> Bool {
        p.wasStarted = true
        return try step(p)
    }

    /// A finished position goes back for reuse; its buffer is kept only within the limit.
    private func recycle(_ p: Position) {
        p.isLoaded = false
        if residentBytes(excluding: nil) > residentByteLimit { p.body = [] }
        spare.append(p)
    }

    /// Decompressed bytes held by every position (buffers kept for reuse included).
    private func residentBytes(excluding p: Position?) -> Int {
        var n = 0
        for q in heap where q !== p { n += q.body.capacity }
        for q in spare where q !== p { n += q.body.capacity }
        return n
    }

    /// Moves a position to its next frame inside the window; false when the chunk is done.
    @inline(__always)
    private func step(_ p: Position) throws -> Bool {
        // The decoder and count are worked on in locals and stored back once: a mutation of
        // the position's decoder inside a read of its body was two nested dynamic exclusivity
        // checks (`swift_beginAccess`) per frame.
        var decoder = p.decoder
        var framesSeen = p.framesSeen
        defer {
            p.decoder = decoder
            p.framesSeen = framesSeen
        }
        let body = p.body
        while true {
            let next: ChunkRecord?
            do {
                next = try body.withUnsafeBytes { raw throws(ChunkDecodingError) in try decoder.next(in: raw) }
            } catch {
                throw RecordingError(.corrupt, "\(error)", file: reader.path, place: "chunk \(p.chunkID) (track \(p.trackID))")
            }
            guard let r = next else {
                guard framesSeen == p.frameCount else {
                    throw RecordingError(.corrupt, "chunk holds \(framesSeen) frames, frame_count says \(p.frameCount)",
                                         file: reader.path, place: "chunk \(p.chunkID) (track \(p.trackID))")
                }
                return false
            }
            framesSeen += 1
            if r.receiveTimeNs >= startNs && r.receiveTimeNs <= endNs {
                p.record = r
                return true
            }
        }
    }

    // MARK: min-heap by (receive time, chunk id)

    struct HeapKey {
        var receiveTimeNs: Int64
        var chunkID: Int64
        init(_ p: Position) {
            receiveTimeNs = p.record.receiveTimeNs
            chunkID = p.chunkID
        }
        @inline(__always)
        static func < (a: HeapKey, b: HeapKey) -> Bool {
            a.receiveTimeNs < b.receiveTimeNs || (a.receiveTimeNs == b.receiveTimeNs && a.chunkID < b.chunkID)
        }
    }

    private static func less(_ a: Position, _ b: Position) -> Bool { HeapKey(a) < HeapKey(b) }

    private func push(_ p: Position) {
        heap.append(p)
        keys.append(HeapKey(p))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard keys[i] < keys[parent] else { break }
            swapEntries(i, parent)
            i = parent
        }
    }

    private func removeTop() {
        let last = heap.removeLast()
        let lastKey = keys.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            keys[0] = lastKey
            siftDown(0)
        }
    }

    /// The top position `p` moved to a later frame: its key follows, then it sinks.
    @inline(__always)
    private func topMoved(_ p: Position) {
        keys[0] = HeapKey(p)
        siftDown(0)
    }

    @inline(__always)
    private func swapEntries(_ i: Int, _ j: Int) {
        heap.swapAt(i, j)
        keys.swapAt(i, j)
    }

    @inline(__always)
    private func siftDown(_ start: Int) {
        var i = start
        let n = keys.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n, keys[l] < keys[m] { m = l }
            if r < n, keys[r] < keys[m] { m = r }
            if m == i { return }
            swapEntries(i, m)
            i = m
        }
    }
}
