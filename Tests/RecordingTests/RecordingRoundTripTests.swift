import Synthetic
import XCTest
@testable import Recording
import TrackModel

final class RecordingRoundTripTests: TemporaryDirectoryTestCase {
    let imu = TrackInfo(identity: "robot-1", name: "imu", sid: "DTR_abc", pubHandle: 7, encryption: .none,
                        frameEncoding: "json", schema: SchemaInfo(name: "Imu", encoding: "jsonschema", data: Array("{}".utf8)))
    let cam = TrackInfo(identity: "robot-2", name: "cam", sid: nil, pubHandle: nil, encryption: .gcm, frameEncoding: nil)

    func testRoundTripKeepsEveryFieldIncludingEmptyPayloadsAndUserTimestamps() throws {
        let p = path("a.tbag")
        let w = try RecordingWriter(path: p, options: .init(room: "lab", url: "ws://127.0.0.1:7880"))
        let a = try w.addTrack(imu)
        let b = try w.addTrack(cam)
        try w.append(track: a, receiveTimeNs: 100, userTimestamp: nil, payload: [])
        try w.append(track: b, receiveTimeNs: 150, userTimestamp: .max, payload: [1, 2, 3])
        try w.append(track: a, receiveTimeNs: 200, userTimestamp: 0, payload: [9])
        try w.append(track: b, receiveTimeNs: 250, userTimestamp: 42, payload: [])
        try w.record(event: SessionEvent(timeNs: 120, kind: .drop, identity: "robot-1", track: "imu", count: 3, detail: "buffer full"))
        try w.record(event: SessionEvent(timeNs: 90, kind: .join, identity: "robot-1"))
        try w.close()
        XCTAssertFalse(FileManager.default.fileExists(atPath: p + "-wal"))

        let r = try RecordingReader(path: p)
        XCTAssertEqual(r.formatVersion, 1)
        XCTAssertEqual(r.meta["room"], "lab")
        XCTAssertEqual(r.meta["url"], "ws://127.0.0.1:7880")
        XCTAssertEqual(r.meta["format_version"], "1")
        XCTAssertNotNil(r.meta["start_time_ns"])
        XCTAssertEqual(r.tracks.map(\.info), [imu, cam])
        XCTAssertEqual(try readAll(r), [
            RecordedFrame(trackID: a, receiveTimeNs: 100, userTimestamp: nil, payload: []),
            RecordedFrame(trackID: b, receiveTimeNs: 150, userTimestamp: .max, payload: [1, 2, 3]),
            RecordedFrame(trackID: a, receiveTimeNs: 200, userTimestamp: 0, payload: [9]),
            RecordedFrame(trackID: b, receiveTimeNs: 250, userTimestamp: 42, payload: []),
        ])
        XCTAssertEqual(try r.events().map(\.kind), [.join, .drop])
        XCTAssertEqual(try r.events()[1], SessionEvent(timeNs: 120, kind: .drop, identity: "robot-1", track: "imu", count: 3, detail: "buffer full"))
        let s = try r.summary()
        XCTAssertEqual(s.frameCount, 4)
        XCTAssertEqual(s.tracks[0].frameCount, 2)
        XCTAssertEqual(s.tracks[0].droppedFrames, 3)
        XCTAssertEqual(s.tracks[0].firstNs, 100)
        XCTAssertEqual(s.tracks[1].lastNs, 250)
        XCTAssertEqual(s.eventCounts["join"], 1)
        // Closed files leave WAL mode, so even a reader leaves no -wal beside them.
        XCTAssertFalse(FileManager.default.fileExists(atPath: p + "-wal"))
    }

    /// Many small chunks per track (chunkBytes 256) interleaved in time: the merge must give one
    /// global receive-time order, ties broken stably, and seek/end/filter must cut exactly.
    func testMergeSeekAndFilterAcrossManyChunks() throws {
        let p = path("m.tbag")
        let w = try RecordingWriter(path: p, options: .init(chunkBytes: 256, chunkIntervalNs: nil))
        var rng = SplitMix64(seed: 7)
        var ids: [Int] = []
        for i in 0..<5 { ids.append(try w.addTrack(TrackInfo(identity: "robot-\(i % 2)", name: "t\(i)"))) }
        var written: [RecordedFrame] = []
        var times = [Int64](repeating: 1_000_000, count: 5)
        for n in 0..<3000 {
            let t = Int(rng.next() % 5)
            times[t] += Int64(rng.next() % 5_000)   // per-track non-decreasing, equal times allowed
            let payload = (0..<Int(rng.next() % 40)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let ts: UInt64? = n % 3 == 0 ? nil : rng.next()
            try w.append(track: ids[t], receiveTimeNs: times[t], userTimestamp: ts, payload: payload)
            written.append(RecordedFrame(trackID: ids[t], receiveTimeNs: times[t], userTimestamp: ts, payload: payload))
        }
        try w.close()
        let r = try RecordingReader(path: p)
        XCTAssertGreaterThan(try r.summary().chunkCount, 100)

        let all = try readAll(r)
        XCTAssertEqual(all.count, written.count)
        XCTAssertEqual(all.map(\.receiveTimeNs), all.map(\.receiveTimeNs).sorted())
        // Same multiset of frames, and per-track order kept.
        for id in ids {
            XCTAssertEqual(all.filter { $0.trackID == id }, written.filter { $0.trackID == id })
        }

        let lo = written.map(\.receiveTimeNs).sorted()[1000], hi = written.map(\.receiveTimeNs).sorted()[2000]
        let window = try readAll(r, FrameSelection(startNs: lo, endNs: hi))
        XCTAssertEqual(window.count, written.filter { $0.receiveTimeNs >= lo && $0.receiveTimeNs <= hi }.count)
        XCTAssertTrue(window.allSatisfy { $0.receiveTimeNs >= lo && $0.receiveTimeNs <= hi })

        let robot1 = r.trackIDs(matching: [try TrackGlob("robot-1/*")])
        XCTAssertEqual(robot1, [ids[1], ids[3]])
        let filtered = try readAll(r, FrameSelection(trackIDs: robot1, startNs: lo))
        XCTAssertEqual(filtered, all.filter { robot1.contains($0.trackID) && $0.receiveTimeNs >= lo })
    }

    func testSizeTriggeredCommitIsVisibleToAReaderBeforeClose() throws {
        let p = path("live.tbag")
        let w = try RecordingWriter(path: p, options: .init(chunkBytes: 1024, chunkIntervalNs: nil))
        let t = try w.addTrack(imu)
        for i in 0..<105 { try w.append(track: t, receiveTimeNs: Int64(i), userTimestamp: nil, payload: [UInt8](repeating: 1, count: 100)) }
        XCTAssertGreaterThan(w.committedFrameCount, 0)
        XCTAssertLessThan(w.committedFrameCount, 105)
        let r = try RecordingReader(path: p)
        XCTAssertEqual(try readAll(r).count, w.committedFrameCount)
        try w.close()
        XCTAssertEqual(try readAll(try RecordingReader(path: p)).count, 105)
    }

    func testTimeTriggeredCommit() throws {
        let p = path("timed.tbag")
        let w = try RecordingWriter(path: p, options: .init(chunkIntervalNs: 20_000_000))
        let t = try w.addTrack(imu)
        try w.append(track: t, receiveTimeNs: 1, userTimestamp: nil, payload: [1])
        XCTAssertEqual(w.committedFrameCount, 0)
        usleep(40_000)
        try w.commitDueChunks()
        XCTAssertEqual(w.committedFrameCount, 1)
        try w.append(track: t, receiveTimeNs: 2, userTimestamp: nil, payload: [2])
        usleep(40_000)
        try w.append(track: t, receiveTimeNs: 3, userTimestamp: nil, payload: [3])   // due on append
        XCTAssertEqual(w.committedFrameCount, 3)
        try w.close()
    }

    func testIncompressibleChunksAreStoredRaw() throws {
        let p = path("raw.tbag")
        let w = try RecordingWriter(path: p)
        let t = try w.addTrack(cam)
        var rng = SplitMix64(seed: 1)
        let payload = (0..<4000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        try w.append(track: t, receiveTimeNs: 5, userTimestamp: 5, payload: payload)
        try w.close()
        let r = try RecordingReader(path: p)
        XCTAssertEqual(try readAll(r).first?.payload, payload)
        let codec = try r.db.prepare("SELECT codec FROM chunks")
        XCTAssertTrue(try codec.step())
        XCTAssertEqual(codec.string(0), "none")
    }

    func testWriterRefusesToClobberAnExistingFile() throws {
        let p = path("x.tbag")
        try RecordingWriter(path: p).close()
        XCTAssertThrowsError(try RecordingWriter(path: p)) { XCTAssertEqual(($0 as? RecordingError)?.kind, .io) }
        XCTAssertNoThrow(try RecordingWriter(path: p, options: .init(overwrite: true)).close())
    }

    func testReplayClockPacesOnAbsoluteDeadlines() {
        var clock = ReplayClock(rate: 2)
        let start = ReplayClock.now()
        for i in 0...50 { clock.wait(until: 1_000_000_000 + Int64(i) * 4_000_000) }   // 200 ms of recording at 2x
        let elapsed = ReplayClock.now() - start
        XCTAssertGreaterThanOrEqual(elapsed, 100_000_000)
        XCTAssertEqual(clock.lateness.count, 51)
        XCTAssertGreaterThanOrEqual(clock.lateness.p99Ns, clock.lateness.p50Ns)
        XCTAssertGreaterThanOrEqual(clock.lateness.maxNs, 0)
    }

    func testReplayClockPauseShiftsAndRateReanchors() {
        var clock = ReplayClock(rate: 1)
        clock.start(at: 0, now: 1_000)
        XCTAssertEqual(clock.deadline(for: 500), 1_500)
        clock.pause(now: 1_100)
        clock.resume(now: 1_400)
        XCTAssertEqual(clock.deadline(for: 500), 1_800)
        clock.setRate(2, now: 1_500)   // position 200 (1500 - 1300) due at 1500
        XCTAssertEqual(clock.deadline(for: 200), 1_500)
        XCTAssertEqual(clock.deadline(for: 400), 1_600)
    }

    func testLatenessHistogramQuantiles() {
        var h = LatenessHistogram()
        for us in 1...100 { h.record(Int64(us) * 1000 - 500) }
        XCTAssertEqual(h.p50Ns, 50_000)
        XCTAssertEqual(h.p99Ns, 99_000)
        XCTAssertEqual(h.maxNs, 99_500)
        XCTAssertEqual(h.lastNs, 99_500)
    }
}
