import Foundation
import XCTest
@testable import Pipeline
@testable import Recording
@testable import Stages
import TrackModel

/// Collects what a source emits; throws CancellationError after `limit` frames (to end loops).
actor CollectingEmitter: BatchEmitter {
    var batches: [Batch] = []
    let limit: Int
    init(limit: Int = .max) { self.limit = limit }
    func emit(_ batch: Batch) async throws {
        batches.append(batch)
        if batches.reduce(0, { $0 + $1.frames.count }) >= limit { throw CancellationError() }
    }
    var frames: [Frame] { batches.flatMap(\.frames) }
    var events: [SessionEvent] { batches.flatMap(\.events) }
}

/// Records when each frame was emitted (monotonic ns).
actor TimingEmitter: BatchEmitter {
    var times: [Int64] = []
    func emit(_ batch: Batch) async throws {
        let now = ReplayClock.now()
        times.append(contentsOf: batch.frames.map { _ in now })
    }
}

/// A sender that stalls once: the batch holding frame `stallAt` takes `stall` to send, as a
/// 40 KB frame on a slow link would. Records when each frame was handed over (monotonic ns).
actor StallingEmitter: BatchEmitter {
    var times: [(user: UInt64?, at: Int64)] = []
    var events: [SessionEvent] = []
    let stallAt: UInt64
    let stall: Duration
    init(stallAt: UInt64, stall: Duration) {
        self.stallAt = stallAt
        self.stall = stall
    }
    func emit(_ batch: Batch) async throws {
        let now = ReplayClock.now()
        times.append(contentsOf: batch.frames.map { ($0.userTimestamp, now) })
        events.append(contentsOf: batch.events)
        if batch.frames.contains(where: { $0.userTimestamp == stallAt }) { try await Task.sleep(for: stall) }
    }
}

final class RecordingStagesTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("stages-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    func path(_ n: String) -> String { dir.appendingPathComponent(n).path }

    let imu = TrackInfo(identity: "robot-1", name: "imu", sid: "DTR_1", pubHandle: 1, frameEncoding: "json")
    let gps = TrackInfo(identity: "robot-2", name: "gps", frameEncoding: "cbor")
    static let t0: Int64 = 1_790_000_000_000_000_000

    /// 2 tracks, 1 s: imu every 10 ms, gps every 100 ms; a join at t0 and a drop on imu at 0.5 s.
    func makeFile() throws -> String {
        let p = path("in.tbag")
        let w = try RecordingWriter(path: p)
        let a = try w.addTrack(imu), b = try w.addTrack(gps)
        for i in 0...100 {
            try w.append(track: a, receiveTimeNs: Self.t0 + Int64(i) * 10_000_000, userTimestamp: i % 2 == 0 ? UInt64(i) : nil, payload: [UInt8(i)])
            if i % 10 == 0 { try w.append(track: b, receiveTimeNs: Self.t0 + Int64(i) * 10_000_000 + 1, userTimestamp: .max, payload: []) }
        }
        try w.record(event: SessionEvent(timeNs: Self.t0, kind: .join, identity: "robot-1"))
        try w.record(event: SessionEvent(timeNs: Self.t0 + 500_000_000, kind: .drop, identity: "robot-1", track: "imu", count: 2))
        try w.close()
        return p
    }

    func testSourceFastPaceEmitsEverythingInOrderInBatches() async throws {
        let p = try makeFile()
        let out = CollectingEmitter()
        try await RecordingSource(config: .init(path: p, batchFrames: 16)).run(into: out)
        let frames = await out.frames
        XCTAssertEqual(frames.count, 101 + 11)
        XCTAssertEqual(frames.map(\.receiveTimeNs), frames.map(\.receiveTimeNs).sorted())
        XCTAssertEqual(frames.map(\.sequence), (0..<UInt64(112)).map { $0 })
        let batches = await out.batches
        XCTAssertTrue(batches.allSatisfy { $0.frames.count <= 16 })
        XCTAssertEqual(frames.first { $0.track.name == "imu" }?.track, imu)
        // User timestamps untouched: present, absent and u64 max as written.
        XCTAssertEqual(frames.filter { $0.track == imu }.map(\.userTimestamp), (0...100).map { $0 % 2 == 0 ? UInt64($0) : nil })
        XCTAssertTrue(frames.filter { $0.track == gps }.allSatisfy { $0.userTimestamp == .max && $0.payload.isEmpty })
        let events = await out.events
        XCTAssertEqual(events.map(\.kind), [.join, .drop])
    }

    /// A session's join/publish come just before its first frame and its leave just after the
    /// last: without start/end offsets a replay must carry them all.
    func testSourceWithoutOffsetsKeepsEventsOutsideTheFrameSpan() async throws {
        let p = path("events.tbag")
        let w = try RecordingWriter(path: p)
        let a = try w.addTrack(imu)
        try w.record(event: SessionEvent(timeNs: Self.t0 - 5, kind: .join, identity: "robot-1"))
        try w.record(event: SessionEvent(timeNs: Self.t0 - 4, kind: .publish, identity: "robot-1", track: "imu"))
        for i in 0..<3 { try w.append(track: a, receiveTimeNs: Self.t0 + Int64(i), userTimestamp: nil, payload: [1]) }
        try w.record(event: SessionEvent(timeNs: Self.t0 + 100, kind: .leave, identity: "robot-1"))
        try w.close()
        let out = CollectingEmitter()
        try await RecordingSource(config: .init(path: p)).run(into: out)
        let kinds = await out.events.map(\.kind)
        XCTAssertEqual(kinds, [.join, .publish, .leave])
    }

    func testSourceStartEndAndTrackGlobs() async throws {
        let p = try makeFile()
        let out = CollectingEmitter()
        let config = RecordingSource.Config(path: p, start: try TimeOffset(parsing: "200ms"), end: try TimeOffset(parsing: "0.5s"),
                                            tracks: ["robot-1/*"])
        try await RecordingSource(config: config).run(into: out)
        let frames = await out.frames
        XCTAssertEqual(frames.map { $0.payload[0] }, (20...50).map { UInt8($0) })
        let events = await out.events
        XCTAssertEqual(events.map(\.kind), [.drop])
    }

    func testSourceLoopsUntilStopped() async throws {
        let p = try makeFile()
        let out = CollectingEmitter(limit: 300)
        do {
            try await RecordingSource(config: .init(path: p, loop: true, batchFrames: 50)).run(into: out)
            XCTFail("a loop ends only when stopped")
        } catch is CancellationError {}
        let frames = await out.frames
        XCTAssertGreaterThanOrEqual(frames.count, 300)
        XCTAssertEqual(frames[112].receiveTimeNs, frames[0].receiveTimeNs)   // second pass starts over
    }

    func testSourceOriginalPaceFollowsReceiveTimesAndReports() async throws {
        let p = try makeFile()
        let out = CollectingEmitter()
        let reported = LockedBox<PacingReport>()
        var source = try RecordingSource(config: .init(path: p, pace: .original, rate: 4, end: try TimeOffset(parsing: "400ms")))
        source.onPacingReport = { reported.set($0) }
        let start = ReplayClock.now()
        try await source.run(into: out)
        let elapsed = ReplayClock.now() - start
        // 400 ms of recording at rate 4 takes at least 100 ms, and not wildly more.
        XCTAssertGreaterThanOrEqual(elapsed, 99_000_000)
        XCTAssertLessThan(elapsed, 2_000_000_000)
        let frames = await out.frames
        XCTAssertEqual(frames.count, 41 + 4)   // gps at 400 ms + 1 ns is past the end
        let report = try XCTUnwrap(reported.get())
        XCTAssertEqual(report.frames, 45)
        let events = await out.events
        XCTAssertTrue(events.contains { $0.kind == .note && ($0.detail ?? "").contains("replay pacing") })
    }

    /// Part `n` of a split imu session: frames `range` 10 ms apart, and the track's publish
    /// event in the first part only (as a split writes it).
    func makePart(_ name: String, _ range: ClosedRange<Int>) throws -> String {
        let p = path(name)
        let w = try RecordingWriter(path: p)
        let a = try w.addTrack(imu)
        if range.lowerBound == 0 {
            try w.record(event: SessionEvent(timeNs: Self.t0 - 1, kind: .publish, identity: "robot-1", track: "imu"))
        }
        for i in range {
            try w.append(track: a, receiveTimeNs: Self.t0 + Int64(i) * 10_000_000, userTimestamp: UInt64(i), payload: [UInt8(i)])
        }
        try w.close()
        return p
    }

    /// The parts of a split recording, named in any order, play as one session: in time order,
    /// one sequence, one clock (no restart of the pacing at the boundary).
    func testSplitPartsPlayAsOneSession() async throws {
        let one = try makePart("s-1.tbag", 0...9), two = try makePart("s-2.tbag", 10...19), three = try makePart("s-3.tbag", 20...29)
        let out = CollectingEmitter()
        try await RecordingSource(config: .init(paths: [three, one, two], batchFrames: 4)).run(into: out)
        let frames = await out.frames
        XCTAssertEqual(frames.map(\.userTimestamp), (0...29).map { UInt64($0) })
        XCTAssertEqual(frames.map(\.sequence), (0...29).map { UInt64($0) })
        XCTAssertEqual(Set(frames.map(\.track)), [imu])
        let kinds = await out.events.map(\.kind)
        XCTAssertEqual(kinds, [.publish])

        let timing = TimingEmitter()
        let started = ReplayClock.now()
        try await RecordingSource(config: .init(paths: [one, two, three], pace: .original, start: try TimeOffset(parsing: "50ms"),
                                                end: try TimeOffset(parsing: "250ms"))).run(into: timing)
        let times = await timing.times
        XCTAssertEqual(times.count, 21)
        // 200 ms of session across two boundaries: paced on, not restarted at each part.
        XCTAssertGreaterThanOrEqual(times.last! - times.first!, 195_000_000)
        XCTAssertLessThan(times.last! - started, 1_500_000_000)
    }

    func testFilesThatOverlapInTimeAreRefusedWithBothNames() async throws {
        let one = try makePart("o-1.tbag", 0...9), two = try makePart("o-2.tbag", 5...14)
        do {
            try await RecordingSource(config: .init(paths: [one, two])).run(into: CollectingEmitter())
            XCTFail("overlapping files must be refused")
        } catch let error as RecordingError {
            XCTAssertTrue(error.description.contains("o-2.tbag") && error.description.contains("overlaps") &&
                          error.description.contains("o-1.tbag"), error.description)
        }
    }

    func testPathTakesOneFileOrAList() throws {
        let list = try JSONDecoder().decode(RecordingSource.Config.self, from: Data(#"{"path":["a-2.tbag","a-1.tbag"]}"#.utf8))
        XCTAssertEqual(list.paths, ["a-2.tbag", "a-1.tbag"])
        XCTAssertEqual(try RecordingSource(config: list).inputFiles, ["a-2.tbag", "a-1.tbag"])
        let one = try JSONDecoder().decode(RecordingSource.Config.self, from: Data(#"{"path":"a.tbag"}"#.utf8))
        XCTAssertEqual(one.paths, ["a.tbag"])
        XCTAssertThrowsError(try JSONDecoder().decode(RecordingSource.Config.self, from: Data(#"{"path":[]}"#.utf8)))
    }

    /// 60 imu frames 10 ms apart (user timestamp = index), one track.
    func makeEven(_ name: String, receiveJitterNs: (Int) -> Int64 = { _ in 0 }, unit: String? = nil) throws -> String {
        let p = path(name)
        let w = try RecordingWriter(path: p)
        let a = try w.addTrack(imu)
        for i in 0..<60 {
            try w.append(track: a, receiveTimeNs: Self.t0 + Int64(i) * 10_000_000 + receiveJitterNs(i), userTimestamp: UInt64(i) * 10_000,
                         payload: [UInt8(i)])
        }
        if let unit { try w.setMeta("user_timestamp_unit", unit) }
        try w.close()
        return p
    }

    /// A sender stalled 150 ms at frame 10. `slow` moves the rest of the replay back by the
    /// stall: the frames after it keep their 10 ms spacing, and the report says so.
    func testOverloadSlowKeepsTheSpacingAfterAStall() async throws {
        let p = try makeEven("slow.tbag")
        let out = StallingEmitter(stallAt: 10 * 10_000, stall: .milliseconds(150))
        let reported = LockedBox<PacingReport>()
        var source = try RecordingSource(config: .init(paths: [p], pace: .original, overload: .slow))
        source.onPacingReport = { reported.set($0) }
        try await source.run(into: out)
        let times = await out.times
        XCTAssertEqual(times.count, 60)
        let after = times.filter { ($0.user ?? 0) >= 11 * 10_000 }.map(\.at)
        let gaps = zip(after.dropFirst(), after).map { $0 - $1 }
        // Bunched, the ten frames due during the stall would leave < 2 ms apart (see the burst
        // test); a busy machine may bunch one or two after a scheduling hiccup.
        XCTAssertLessThanOrEqual(gaps.filter { $0 < 2_000_000 }.count, 2, "frames after the stall must not bunch: \(gaps)")
        let report = try XCTUnwrap(reported.get())
        XCTAssertGreaterThanOrEqual(report.slowdowns, 1)
        XCTAssertGreaterThan(report.slowedMs, 100)
        XCTAssertTrue(report.description.contains("slowed"), report.description)
    }

    /// `burst` catches up: the frames that fell due during the stall leave together.
    func testOverloadBurstCatchesUpAtOnce() async throws {
        let p = try makeEven("burst.tbag")
        let out = StallingEmitter(stallAt: 10 * 10_000, stall: .milliseconds(150))
        try await RecordingSource(config: .init(paths: [p], pace: .original, overload: .burst)).run(into: out)
        let times = await out.times
        XCTAssertEqual(times.count, 60)
        let after = times.filter { ($0.user ?? 0) >= 11 * 10_000 && ($0.user ?? 0) <= 20 * 10_000 }.map(\.at)
        XCTAssertLessThan(after.last! - after.first!, 20_000_000, "the ten frames due during the stall leave together")
    }

    /// `drop` leaves out what is already more than the threshold late, counted per track.
    func testOverloadDropLeavesOutLateFramesAndSaysSo() async throws {
        let p = try makeEven("drop.tbag")
        let out = StallingEmitter(stallAt: 10 * 10_000, stall: .milliseconds(150))
        let reported = LockedBox<PacingReport>()
        var source = try RecordingSource(config: .init(paths: [p], pace: .original, overload: .drop,
                                                       overloadThreshold: TimeOffset(nanoseconds: 30_000_000)))
        source.onPacingReport = { reported.set($0) }
        try await source.run(into: out)
        let sent = await out.times.count
        let report = try XCTUnwrap(reported.get())
        // 150 ms stall, 30 ms threshold: the frames due 11…22 are 140…30 ms late; about 11 go.
        XCTAssertGreaterThanOrEqual(report.droppedLate, 8)
        XCTAssertLessThanOrEqual(report.droppedLate, 16, "a busy machine may add a hiccup or two")
        XCTAssertEqual(sent + report.droppedLate, 60)
        let drops = await out.events.filter { $0.kind == .drop }
        XCTAssertEqual(drops.map(\.count), [Int64(report.droppedLate)])
        XCTAssertEqual(drops.first?.track, "imu")
    }

    /// Receive times smeared by a jittery link (±8 ms); `clock: user` paces by the publisher's
    /// timestamps (microseconds here), so the replay is even again.
    func testUserClockPacesByUserTimestamps() async throws {
        let jitter: (Int) -> Int64 = { i in [0, 8, -8, 4][i % 4] * 1_000_000 }
        let p = try makeEven("user.tbag", receiveJitterNs: jitter, unit: "us")
        let out = StallingEmitter(stallAt: .max, stall: .zero)
        try await RecordingSource(config: .init(paths: [p], pace: .original, clock: .user)).run(into: out)
        let times = await out.times.map(\.at)
        let gaps = zip(times.dropFirst(), times).map { Double($0 - $1) / 1e6 }
        XCTAssertEqual(times.count, 60)
        // Paced by those receive times the gaps would cycle 18, 0, 22, 6 ms (a quarter near
        // 10 ms); by user time all are 10 ms, give or take a busy machine's hiccups.
        let even = gaps.filter { (5...15).contains($0) }.count
        XCTAssertGreaterThanOrEqual(even, gaps.count * 8 / 10, "\(gaps)")
        // Without a unit in the file or the config, user time cannot be read: say so.
        let bare = try makeEven("bare.tbag")
        do {
            try await RecordingSource(config: .init(paths: [bare], pace: .original, clock: .user)).run(into: CollectingEmitter())
            XCTFail("a user clock without a unit must be refused")
        } catch let error as RecordingError {
            XCTAssertTrue(error.description.contains("user_timestamp_unit"), error.description)
        }
    }

    /// A state track (`robot-1/mode`, changing at 50 ms and 150 ms) beside imu: a replay that
    /// starts at 200 ms sends the 150 ms state first, at once, with its own user timestamp,
    /// and again at every loop; tracks not latched are not.
    func testLatchedTracksSendTheirStateBeforeTheStartPosition() async throws {
        let p = path("latch.tbag")
        let w = try RecordingWriter(path: p)
        let a = try w.addTrack(imu)
        let mode = try w.addTrack(TrackInfo(identity: "robot-1", name: "mode"))
        for i in 0..<40 { try w.append(track: a, receiveTimeNs: Self.t0 + Int64(i) * 10_000_000, userTimestamp: UInt64(i), payload: [UInt8(i)]) }
        try w.append(track: mode, receiveTimeNs: Self.t0 + 50_000_000, userTimestamp: 500, payload: Array("idle".utf8))
        try w.append(track: mode, receiveTimeNs: Self.t0 + 150_000_000, userTimestamp: 1500, payload: Array("moving".utf8))
        try w.close()
        let out = CollectingEmitter(limit: 2 * 20 + 2)
        let source = try RecordingSource(config: .init(paths: [p], loop: true, start: try TimeOffset(parsing: "200ms"),
                                                       latch: ["*/mode"]))
        do { try await source.run(into: out) } catch is CancellationError {}
        let batches = await out.batches
        let first = try XCTUnwrap(batches.first)
        XCTAssertEqual(first.frames.map(\.track.name), ["mode"])
        XCTAssertEqual(first.frames.first?.payload, Array("moving".utf8))
        XCTAssertEqual(first.frames.first?.userTimestamp, 1500)
        let frames = await out.frames
        // Per pass: the latched state, then imu 20…39 (the mode track has nothing after 200 ms).
        XCTAssertEqual(frames.prefix(21).map(\.track.name), ["mode"] + Array(repeating: "imu", count: 20))
        XCTAssertEqual(frames.dropFirst(21).first?.track.name, "mode", "the state again when the loop restarts")
        XCTAssertEqual(frames.map(\.sequence), (0..<UInt64(frames.count)).map { $0 })

        // From the very beginning there is nothing before the position to latch.
        let plain = CollectingEmitter()
        try await RecordingSource(config: .init(paths: [p], latch: ["*/mode"])).run(into: plain)
        let count = await plain.frames.count
        XCTAssertEqual(count, 42)
    }

    /// Pause holds every frame; resume continues at the recording's pacing (no burst of the
    /// frames that fell due while paused), and the pause is not lateness.
    func testPauseHoldsFramesAndResumeKeepsThePacing() async throws {
        let p = try makeFile()
        let out = TimingEmitter()
        let reported = LockedBox<PacingReport>()
        var source = try RecordingSource(config: .init(path: p, pace: .original, end: try TimeOffset(parsing: "300ms"),
                                                       tracks: ["robot-1/imu"]))
        source.onPacingReport = { reported.set($0) }
        let control = source.control
        let replay = Task { [source] in try await source.run(into: out) }
        try await Task.sleep(for: .milliseconds(100))
        control.pause()
        let pausedAt = ReplayClock.now()
        try await Task.sleep(for: .milliseconds(400))
        let resumedAt = ReplayClock.now()
        XCTAssertTrue(control.isPaused)
        control.resume()
        try await replay.value
        let times = await out.times
        XCTAssertEqual(times.count, 31)   // imu every 10 ms, 0…300 ms
        // Nothing went out during the pause (a frame already due may leave as it begins).
        XCTAssertFalse(times.contains { $0 > pausedAt + 15_000_000 && $0 < resumedAt }, "frames sent while paused")
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        XCTAssertGreaterThanOrEqual(gaps.max() ?? 0, 350_000_000)
        // After the pause: 10 ms apart again, not all at once.
        let after = times.filter { $0 > resumedAt }
        XCTAssertGreaterThan(after.count, 10)
        XCTAssertGreaterThanOrEqual((after.last ?? 0) - (after.first ?? 0), Int64(after.count - 2) * 9_000_000)
        XCTAssertEqual(control.pauseCount, 1)
        let report = try XCTUnwrap(reported.get())
        XCTAssertLessThan(report.maxMs, 100, "the pause must not count as lateness: \(report)")
    }

    func testTracksAreFoundByIDWhateverIDsTheFileDeclares() {
        let a = TrackInfo(identity: "r", name: "a"), b = TrackInfo(identity: "r", name: "b")
        // SQLite's own numbering: an array; ids far apart or negative: a dictionary, and no
        // allocation sized by an id.
        for ids in [[1, 2], [7, 3], [1, 1 << 40], [-5, 2], [Int.max, Int.min]] {
            let byID = RecordingSource.TracksByID([RecordedTrack(id: ids[0], info: a), RecordedTrack(id: ids[1], info: b)])
            XCTAssertEqual(byID[ids[0]], a, "\(ids)")
            XCTAssertEqual(byID[ids[1]], b, "\(ids)")
            XCTAssertNil(byID[0], "\(ids)")
            XCTAssertNil(byID[4], "\(ids)")
            XCTAssertNil(byID[-1], "\(ids)")
        }
        XCTAssertNil(RecordingSource.TracksByID([])[1])
    }

    func testSourceRejectsBadGlobAndMissingFile() async throws {
        XCTAssertThrowsError(try RecordingSource(config: .init(path: "x.tbag", tracks: ["imu"]))) { e in
            XCTAssertEqual((e as? TrackModelError)?.kind, .badGlob)
            XCTAssertEqual((e as? TrackModelError)?.place, "tracks[0] glob column 4")
        }
        do {
            try await RecordingSource(config: .init(path: path("absent.tbag"))).run(into: CollectingEmitter())
            XCTFail("expected an error")
        } catch let e as RecordingError {
            XCTAssertEqual(e.kind, .io)
            XCTAssertEqual(e.file, path("absent.tbag"))
        }
    }

    func testConfigsDecodeWithDefaultsAndRejectBadValues() throws {
        let src = try JSONDecoder().decode(RecordingSource.Config.self, from: Data(#"{"path":"a.tbag","start":"1.5s","end":90}"#.utf8))
        XCTAssertEqual(src, RecordingSource.Config(path: "a.tbag", pace: .fast, rate: 1, loop: false,
                                                   start: TimeOffset(nanoseconds: 1_500_000_000), end: TimeOffset(nanoseconds: 90_000_000_000)))
        XCTAssertThrowsError(try JSONDecoder().decode(RecordingSource.Config.self, from: Data(#"{"path":"a","rate":0}"#.utf8)))
        XCTAssertThrowsError(try JSONDecoder().decode(RecordingSource.Config.self, from: Data(#"{"path":"a","pace":"slow"}"#.utf8)))
        XCTAssertThrowsError(try JSONDecoder().decode(RecordingSource.Config.self, from: Data(#"{"path":"a","start":"3x"}"#.utf8)))

        let sink = try JSONDecoder().decode(RecordingSink.Config.self,
                                            from: Data(#"{"path":"r/{room}-{date}.tbag","split":{"size":"512MiB","duration":"10m"}}"#.utf8))
        XCTAssertEqual(sink.zstdLevel, 1)
        XCTAssertEqual(sink.split?.size?.bytes, 512 << 20)
        XCTAssertEqual(sink.split?.duration?.nanoseconds, 600_000_000_000)
        XCTAssertThrowsError(try JSONDecoder().decode(RecordingSink.Config.self, from: Data(#"{"path":"a","zstd_level":40}"#.utf8)))
        XCTAssertThrowsError(try JSONDecoder().decode(RecordingSink.Config.self, from: Data(#"{"path":"a","split":{"size":"12XB"}}"#.utf8)))
    }

    func testSinkPathTemplate() {
        // 2026-11-26 13:22:40 UTC
        let s: Int64 = 1_795_699_360
        XCTAssertEqual(RecordingSink.resolve("r/{room}-{date}.tbag", room: "lab", part: nil, unixSeconds: s), "r/lab-20261126-132240.tbag")
        XCTAssertEqual(RecordingSink.resolve("r/{room}.tbag", room: nil, part: 3, unixSeconds: s), "r/room-3.tbag")
        XCTAssertEqual(RecordingSink.resolve("r.d/x", room: "a/b", part: 2, unixSeconds: s), "r.d/x-2")
        XCTAssertEqual(RecordingSink.resolve("x_{part}.tbag", room: "a/b", part: 2, unixSeconds: s), "x_2.tbag")
    }

    func testSourceToSinkRoundTripKeepsFramesTracksAndEvents() async throws {
        let p = try makeFile()
        let collected = CollectingEmitter()
        try await RecordingSource(config: .init(path: p)).run(into: collected)
        let sink = RecordingSink(config: .init(path: path("out-{room}.tbag"), room: "lab", zstdLevel: 3))
        for b in await collected.batches { try await sink.write(b) }
        try await sink.finish()
        let files = await sink.files
        XCTAssertEqual(files, [path("out-lab.tbag")])
        let a = try RecordingReader(path: p), b = try RecordingReader(path: files[0])
        XCTAssertEqual(b.meta["room"], "lab")
        XCTAssertEqual(b.tracks.map(\.info), a.tracks.map(\.info))
        XCTAssertEqual(try b.events(), try a.events())
        let fa = try a.frames(), fb = try b.frames()
        var n = 0
        while let x = try fa.next() {
            let y = try XCTUnwrap(try fb.next())
            XCTAssertEqual(x, y)
            n += 1
        }
        XCTAssertNil(try fb.next())
        XCTAssertEqual(n, 112)
    }

    func testSinkSplitsByDurationAndSize() async throws {
        let sink = RecordingSink(config: .init(path: path("s.tbag"), split: .init(duration: try TimeOffset(parsing: "1s"))))
        var frames: [Frame] = []
        for i in 0..<35 { frames.append(Frame(track: imu, payload: [UInt8(i)], userTimestamp: UInt64(i), receiveTimeNs: Self.t0 + Int64(i) * 100_000_000)) }
        try await sink.write(Batch(frames: frames))
        try await sink.finish()
        let files = await sink.files
        XCTAssertEqual(files, [path("s-1.tbag"), path("s-2.tbag"), path("s-3.tbag"), path("s-4.tbag")])
        let counts = try files.map { try RecordingReader(path: $0).summary().frameCount }
        XCTAssertEqual(counts, [10, 10, 10, 5])

        let bySize = RecordingSink(config: .init(path: path("z_{part}.tbag"), zstdLevel: 0, split: .init(size: ByteCount(bytes: 1500))))
        var rng = SystemRandomNumberGenerator()
        for i in 0..<20 {
            // Fill 1 MiB chunks quickly: each frame 200 KiB, so a chunk commits every 6 frames.
            let payload = (0..<(200 << 10)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            try await bySize.write(Batch(frames: [Frame(track: gps, payload: payload, userTimestamp: nil, receiveTimeNs: Self.t0 + Int64(i))]))
        }
        try await bySize.finish()
        let sizeFiles = await bySize.files
        XCTAssertGreaterThan(sizeFiles.count, 1)
        let total = try sizeFiles.map { try RecordingReader(path: $0).summary().frameCount }.reduce(0, +)
        XCTAssertEqual(total, 20)
    }

    func testRegistryHasBothRecordingStages() {
        XCTAssertNotNil(BuiltinStages.registration(for: "recording", kind: .source))
        XCTAssertNotNil(BuiltinStages.registration(for: "recording", kind: .sink))
    }
}

final class LockedBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T?
    func set(_ v: T) { lock.withLock { value = v } }
    func get() -> T? { lock.withLock { value } }
}
