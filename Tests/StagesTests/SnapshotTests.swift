import Foundation
import XCTest
@testable import Pipeline
@testable import Recording
@testable import Stages
import TrackModel

/// The flight recorder: the ring and trigger state machine driven with synthetic times, then the
/// sink writing real files.
final class SnapshotTests: XCTestCase {
    static let s: Int64 = 1_000_000_000
    let trig = SnapshotTrigger(source: "test", detail: "manual")

    /// A frame at `t` seconds whose payload is its own index (byte-exact checks).
    func f(_ t: Int64, _ i: UInt8, bytes: Int = 1, track: String = "imu") -> Frame {
        frame("robot-1", track, payload: [UInt8](repeating: i, count: bytes), time: t * Self.s)
    }

    /// Runs `frames` through the ring (firing where `fires` says) and returns the files it
    /// would write: each as its frames' first payload bytes, plus the eviction count at open.
    func files(_ ring: inout SnapshotRing, _ frames: [Frame], fires: Set<Int> = [], firesAt: [Int: Int64] = [:])
        -> [(frames: [UInt8], evicted: UInt64, extensions: Int)] {
        var out: [(frames: [UInt8], evicted: UInt64, extensions: Int)] = []
        var open = false
        func apply(_ actions: [SnapshotRing.Action]) {
            for a in actions {
                switch a {
                case let .open(_, _, contents, evicted):
                    XCTAssertFalse(open, "open while a file is open")
                    open = true
                    out.append((try! contents.frames().map { $0.payload.first ?? 0 }, evicted, 0))
                case .extend:
                    XCTAssertTrue(open)
                    out[out.count - 1].extensions += 1
                case let .write(frames):
                    XCTAssertTrue(open, "write with no open file")
                    out[out.count - 1].frames += frames.map { $0.payload.first ?? 0 }
                case .close:
                    XCTAssertTrue(open)
                    open = false
                }
            }
        }
        for (i, fr) in frames.enumerated() {
            if let at = firesAt[i] { apply(try! ring.fire(trig, atNs: at)) }
            apply(try! ring.ingest(fr, fires: fires.contains(i) ? trig : nil))
        }
        apply(ring.finish())
        XCTAssertFalse(open)
        return out
    }

    func testWindowIsPreBeforeAndPostAfterTheTriggerInclusive() {
        // One frame a second, t = 0…30; the frame at t = 15 fires; pre 10 s, post 5 s.
        var ring = SnapshotRing(preNs: 10 * Self.s, postNs: 5 * Self.s, maxBytes: 1 << 20)
        let frames = (0...30).map { f(Int64($0), UInt8($0)) }
        let out = files(&ring, frames, fires: [15])
        XCTAssertEqual(out.count, 1)
        XCTAssertEqual(out[0].frames, Array(5...20).map(UInt8.init))
        XCTAssertEqual(out[0].evicted, 0)
        // After the window the ring buffers again: frames 21… are in memory, none in a file.
        XCTAssertFalse(ring.isCapturing)
    }

    func testOverlappingTriggersExtendOneFile() {
        var ring = SnapshotRing(preNs: 10 * Self.s, postNs: 5 * Self.s, maxBytes: 1 << 20)
        let frames = (0...40).map { f(Int64($0), UInt8($0)) }
        // 15 opens (until 20), 18 extends to 23, 23 extends to 28 (inclusive edge), 35 opens anew.
        let out = files(&ring, frames, fires: [15, 18, 23, 35])
        XCTAssertEqual(out.count, 2)
        XCTAssertEqual(out[0].frames, Array(5...28).map(UInt8.init))
        XCTAssertEqual(out[0].extensions, 2)
        // The second file's pre window starts after the first file ended: the ring restarted at 29.
        XCTAssertEqual(out[1].frames, Array(29...40).map(UInt8.init))
    }

    func testByteBoundEvictsOldestAndCountsThem() {
        // 100-byte payloads cost 164 each; a bound of 5 frames' worth keeps 5 of the 11 in pre.
        let cost = 100 + SnapshotRing.frameOverhead
        var ring = SnapshotRing(preNs: 10 * Self.s, postNs: 2 * Self.s, maxBytes: 5 * cost)
        let frames = (0...20).map { f(Int64($0), UInt8($0), bytes: 100) }
        let out = files(&ring, frames, fires: [15])
        XCTAssertEqual(out.count, 1)
        XCTAssertEqual(out[0].frames, Array(11...17).map(UInt8.init))
        // Frames 0…10 left by the bound (it binds before the 10 s one does); 5…10 were inside
        // the pre window [5, 15], so the file counts 6.
        XCTAssertEqual(out[0].evicted, 6)
        XCTAssertEqual(ring.evictedTotal, 11)
    }

    func testBoundHoldsWhateverTheRate() throws {
        // 100,000 frames inside one second, each 1 KiB: the ring never passes max_bytes.
        let maxBytes = 1 << 20
        var ring = SnapshotRing(preNs: 10 * Self.s, postNs: 1 * Self.s, maxBytes: maxBytes)
        var peak = 0
        for i in 0..<100_000 {
            _ = try ring.ingest(frame(payload: [UInt8](repeating: 0, count: 1024), time: Int64(i) * 10_000))
            peak = max(peak, ring.bufferedBytes)
        }
        XCTAssertLessThanOrEqual(peak, maxBytes)
        let kept = maxBytes / (1024 + SnapshotRing.frameOverhead)
        XCTAssertEqual(ring.bufferedFrames, kept)
        XCTAssertEqual(ring.evicted, UInt64(100_000 - kept))
    }

    func testTriggerWithoutFrameAndAdvanceCloses() throws {
        var ring = SnapshotRing(preNs: 3 * Self.s, postNs: 2 * Self.s, maxBytes: 1 << 20)
        for i in 0...5 { _ = try ring.ingest(f(Int64(i), UInt8(i))) }
        let a = try ring.fire(trig, atNs: 5 * Self.s)
        guard case let .open(_, at, contents, _) = a.first else { return XCTFail("\(a)") }
        XCTAssertEqual(at, 5 * Self.s)
        XCTAssertEqual(try contents.frames().map { $0.payload[0] }, [2, 3, 4, 5])
        XCTAssertTrue(ring.advance(toNs: 7 * Self.s).isEmpty, "the end is inclusive")
        guard case .close = ring.advance(toNs: 7 * Self.s + 1).first else { return XCTFail() }
        XCTAssertTrue(ring.finish().isEmpty)
    }

    func testFrameAfterWindowClosesAndStartsTheNextRing() throws {
        var ring = SnapshotRing(preNs: 10 * Self.s, postNs: 0, maxBytes: 1 << 20)
        _ = try ring.ingest(f(1, 1), fires: trig)
        let a = try ring.ingest(f(2, 2))
        XCTAssertEqual(a.count, 1)
        guard case .close = a[0] else { return XCTFail("\(a)") }
        XCTAssertEqual(ring.bufferedFrames, 1)
    }

    // MARK: compressed blocks

    func testBlockRoundTripsFramesExactly() throws {
        let frames = [
            frame("robot-1", "imu", payload: [1, 2, 3], ts: 42, time: -5),
            frame("robot-2", "pose", payload: [], ts: nil, time: 7),
            frame("robot-1", "imu", payload: [UInt8](repeating: 9, count: 300), ts: .max, time: .max),
        ]
        let block = SnapshotBlock.seal(frames[...], compress: { $0 })
        XCTAssertEqual(block.tracks.count, 2)
        XCTAssertEqual(block.frameCount, 3)
        XCTAssertEqual(try block.frames(decompress: { b, _ in b }), frames)
        // Cut anywhere, the body is refused, never misread.
        for cut in 1..<block.stored.count where cut != block.stored.count {
            var damaged = block
            damaged.stored = Array(block.stored[0..<cut])
            damaged.rawSize = cut
            XCTAssertThrowsError(try damaged.frames(decompress: { b, _ in b }), "cut at \(cut)") { _ in }
        }
    }

    static func zstd() throws -> SnapshotRing.Codec {
        let c = try FrameBlockCompressor(level: 1)
        return .init(compress: { try c.compress($0) }, decompress: { try c.decompress($0, rawSize: $1) })
    }

    func testCompressedRingWritesTheSameWindowAsTheUncompressedOne() throws {
        // Three tracks at 100 Hz for 30 s; triggers at 12 s and 25 s.
        var frames: [Frame] = []
        for i in 0..<3000 {
            for (k, name) in ["imu", "pose", "events"].enumerated() {
                frames.append(frame("robot-1", name, payload: Array("{\"i\":\(i),\"k\":\(k)}".utf8),
                                    ts: UInt64(i), time: Int64(i) * 10_000_000 + Int64(k)))
            }
        }
        func run(_ ring: inout SnapshotRing) throws -> [[Frame]] {
            var files: [[Frame]] = []
            for (i, fr) in frames.enumerated() {
                let fires = i == 1200 * 3 || i == 2500 * 3 + 1
                for a in try ring.ingest(fr, fires: fires ? trig : nil) {
                    switch a {
                    case let .open(_, _, contents, evicted):
                        XCTAssertEqual(evicted, 0)
                        files.append(try contents.frames())
                    case let .write(fs): files[files.count - 1] += fs
                    default: break
                    }
                }
            }
            return files
        }
        var plain = SnapshotRing(preNs: 10 * Self.s, postNs: 5 * Self.s, maxBytes: 64 << 20)
        var sealed = SnapshotRing(preNs: 10 * Self.s, postNs: 5 * Self.s, maxBytes: 64 << 20, blockBytes: 4096, codec: try Self.zstd())
        let a = try run(&plain)
        let b = try run(&sealed)
        XCTAssertEqual(a.count, 2)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a[0].first?.receiveTimeNs, 2 * Self.s)
        XCTAssertEqual(a[0].last?.receiveTimeNs, 17 * Self.s)
    }

    func testCompressedRingHoldsFarMoreWithinTheSameBound() throws {
        let maxBytes = 1 << 20
        var ring = SnapshotRing(preNs: 60 * Self.s, postNs: 1 * Self.s, maxBytes: maxBytes,
                                blockBytes: SnapshotRing.blockBytes(forMaxBytes: maxBytes), codec: try Self.zstd())
        var peak = 0
        // 200,000 telemetry-like JSON frames of ~120 bytes at 20k frames/s (10 s).
        for i in 0..<200_000 {
            let payload = Array(#"{"seq":\#(i),"accel":{"x":0.01,"y":-0.02,"z":9.81},"gyro":{"x":0,"y":0,"z":0.001},"ok":true}"#.utf8)
            _ = try ring.ingest(frame(payload: payload, time: Int64(i) * 50_000))
            peak = max(peak, ring.bufferedBytes)
        }
        XCTAssertLessThanOrEqual(peak, maxBytes)
        let uncompressedFit = maxBytes / (120 + SnapshotRing.frameOverhead)
        XCTAssertGreaterThan(ring.bufferedFrames, 5 * uncompressedFit, "\(ring.bufferedFrames) frames in \(ring.sealedBlocks) blocks")
        XCTAssertEqual(UInt64(200_000 - ring.bufferedFrames), ring.evicted)
    }

    func testEvictedCountsOnlyThePreWindowWithBlocks() throws {
        // 20k frames/s for 15 s into a 256 KiB ring; trigger at 12 s, pre 10 s: the file's
        // frames and its evicted count together cover the pre window [2 s, 12 s] (200,001
        // frames), plus at most the one block that straddles 2 s.
        let maxBytes = 256 << 10
        var ring = SnapshotRing(preNs: 10 * Self.s, postNs: 0, maxBytes: maxBytes,
                                blockBytes: SnapshotRing.blockBytes(forMaxBytes: maxBytes), codec: try Self.zstd())
        var opened: (frames: Int, evicted: UInt64)?
        for i in 0...(12 * 20_000) {
            let payload = Array(#"{"seq":\#(i),"z":9.81}"#.utf8)
            for a in try ring.ingest(frame(payload: payload, time: Int64(i) * 50_000), fires: i == 12 * 20_000 ? trig : nil) {
                if case let .open(_, _, contents, evicted) = a { opened = (try contents.frames().count, evicted) }
            }
        }
        let o = try XCTUnwrap(opened)
        let covered = UInt64(o.frames) + o.evicted
        XCTAssertGreaterThanOrEqual(covered, 200_001)
        XCTAssertLessThan(covered, 200_001 + 20_000, "\(o)")
        XCTAssertGreaterThan(ring.evictedTotal, o.evicted, "frames before 2 s were evicted too, but are not the file's")
    }

    // MARK: the sink, writing files

    func testSinkWritesWindowAndEventAndNeverOverwrites() async throws {
        let dir = temporaryPath("snapshots-\(UUID().uuidString)")
        let t0: Int64 = 1_780_000_000 * Self.s
        let frames = (0...30).map { i in
            frame("robot-1", i == 15 ? "events" : "imu", payload: [UInt8(i)], time: t0 + Int64(i) * Self.s)
        }
        for round in 0..<2 {
            let sink = try SnapshotSink(config: .init(directory: dir, pre: TimeOffset(seconds: 10), post: TimeOffset(seconds: 5),
                                                      trigger: #"track == "events""#, signal: false))
            try await sink.write(Batch(frames: frames))
            try await sink.finish()
            let written = await sink.files
            XCTAssertEqual(written.count, 1)
            XCTAssertTrue(written[0].hasSuffix(round == 0 ? ".000.tbag" : ".000-2.tbag"), written[0])
            let reader = try RecordingReader(path: written[0])
            var payloads: [UInt8] = []
            let cursor = try reader.frames()
            while let f = try cursor.next() { payloads.append(f.payload[0]) }
            XCTAssertEqual(payloads, Array(5...20).map(UInt8.init))
            let events = try reader.events().filter { $0.kind == .snapshot }
            XCTAssertEqual(events.count, 1)
            XCTAssertEqual(events[0].timeNs, t0 + 15 * Self.s)
            XCTAssertEqual(events[0].track, "events")
            XCTAssertEqual(events[0].identity, "robot-1")
            XCTAssertTrue(events[0].detail?.contains(#"expression: track == "events""#) == true, events[0].detail ?? "")
        }
    }

    func testWallClockClosesTheWindowWithoutFramesAndSignalTimeIsNow() async throws {
        let dir = temporaryPath("snapshots-\(UUID().uuidString)")
        let sink = try SnapshotSink(config: .init(directory: dir, pre: TimeOffset(seconds: 10), post: TimeOffset(seconds: 0.2),
                                                  signal: false, wallClock: true))
        let now = UnixTime.nowNs()
        try await sink.write(Batch(frames: [frame(payload: [1], time: now - 20 * Self.s), frame(payload: [2], time: now - Self.s)]))
        let before = UnixTime.nowNs()
        try await sink.fire(SnapshotTrigger(source: "test", detail: "by hand"))
        // No frame arrives: the timer closes the file once the wall clock passes the window's end.
        let deadline = Date().addingTimeInterval(10)
        var closed = false
        while !closed && Date() < deadline {
            try await Task.sleep(nanoseconds: 50_000_000)
            if let path = await sink.files.first, (try? RecordingReader(path: path)) != nil,
               !FileManager.default.fileExists(atPath: path + "-wal") {
                closed = true
            }
        }
        XCTAssertTrue(closed)
        let written = await sink.files
        let path = try XCTUnwrap(written.first)
        let reader = try RecordingReader(path: path)
        let cursor = try reader.frames()
        var payloads: [UInt8] = []
        while let f = try cursor.next() { payloads.append(f.payload[0]) }
        XCTAssertEqual(payloads, [2], "the frame 20 s old is outside pre")
        let event = try XCTUnwrap(reader.events().first { $0.kind == .snapshot })
        XCTAssertGreaterThanOrEqual(event.timeNs, before)
        XCTAssertEqual(event.detail?.hasPrefix("fired by test: by hand"), true)
        try await sink.finish()
        let files = await sink.files
        XCTAssertEqual(files.count, 1)
    }

    func testBadTriggerNamesTheColumn() {
        XCTAssertThrowsError(try SnapshotSink(config: .init(directory: "x", trigger: "track == "))) { error in
            XCTAssertTrue("\(error)".contains("trigger, column"), "\(error)")
        }
    }

    func testRegistryHasSnapshotSink() {
        XCTAssertNotNil(BuiltinStages.registration(for: "snapshot", kind: .sink))
    }
}
