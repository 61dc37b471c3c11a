import Foundation
import Pipeline
import Recording
@testable import Stages
import TrackModel
import XCTest

/// Frames with the monotonic time they were emitted.
actor StampingEmitter: BatchEmitter {
    var frames: [(at: Int64, receiveNs: Int64)] = []
    func emit(_ batch: Batch) async throws {
        let now = ReplayClock.now()
        frames.append(contentsOf: batch.frames.map { (now, $0.receiveTimeNs) })
    }
    var count: Int { frames.count }
}

/// Rate, step and seek of an `original`-paced replay (`ReplayControl`), on a real file and the
/// real clock.
final class ReplayControlTests: XCTestCase {
    var dir: URL!
    static let t0: Int64 = 1_790_000_000_000_000_000

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("replay-control-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// One track, a frame every 10 ms for 1 s (101 frames, payload = index).
    func makeFile() throws -> String {
        let p = dir.appendingPathComponent("in.tbag").path
        let w = try RecordingWriter(path: p)
        let a = try w.addTrack(TrackInfo(identity: "robot", name: "imu"))
        for i in 0...100 {
            try w.append(track: a, receiveTimeNs: Self.t0 + Int64(i) * 10_000_000, userTimestamp: nil, payload: [UInt8(i)])
        }
        try w.close()
        return p
    }

    private func waitUntil(_ what: String, timeout: Duration = .seconds(5), _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !(await condition()) {
            guard ContinuousClock.now < deadline else { return XCTFail("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    func testStepSendsExactlyTheFramesAskedForThenHolds() async throws {
        let source = try RecordingSource(config: .init(path: try makeFile(), pace: .original, end: try TimeOffset(parsing: "200ms")))
        let control = source.control
        control.pause()
        XCTAssertFalse(control.step(frames: 0))
        let out = StampingEmitter()
        let replay = Task { try await source.run(into: out) }
        try await Task.sleep(for: .milliseconds(100))
        let held = await out.count
        XCTAssertEqual(held, 0, "paused before the first frame")
        XCTAssertTrue(control.step(frames: 3))
        try await waitUntil("3 frames") { await out.count >= 3 }
        try await Task.sleep(for: .milliseconds(150))
        let afterFirstStep = await out.count
        XCTAssertEqual(afterFirstStep, 3)
        XCTAssertTrue(control.step(frames: 2))
        try await waitUntil("5 frames") { await out.count >= 5 }
        try await Task.sleep(for: .milliseconds(150))
        let afterSecondStep = await out.count
        XCTAssertEqual(afterSecondStep, 5)
        XCTAssertEqual(control.status.steppedFrames, 5)
        XCTAssertEqual(control.status.offsetNs, 40_000_000)
        // A step by recording time: frames up to 25 ms past the position (50 and 60 ms).
        XCTAssertTrue(control.step(nanoseconds: 25_000_000))
        try await waitUntil("7 frames") { await out.count >= 7 }
        try await Task.sleep(for: .milliseconds(100))
        let afterDurationStep = await out.count
        XCTAssertEqual(afterDurationStep, 7)
        let resumedAt = ReplayClock.now()
        control.resume()
        XCTAssertFalse(control.step(frames: 1), "a step is refused while playing")
        try await replay.value
        let frames = await out.frames
        XCTAssertEqual(frames.map(\.receiveNs), (0...20).map { Self.t0 + Int64($0) * 10_000_000 })
        // After the resume, pacing goes on from the last stepped frame: 10 ms apart, no burst.
        let after = frames.filter { $0.at > resumedAt }
        XCTAssertEqual(after.count, 14)
        let span = (after.last?.at ?? 0) - resumedAt
        XCTAssertGreaterThan(span, 120_000_000, "frames after the steps must be paced")
        XCTAssertEqual(control.status.state, .ended)
    }

    func testRateChangeStretchesTheGaps() async throws {
        let source = try RecordingSource(config: .init(path: try makeFile(), pace: .original, end: try TimeOffset(parsing: "300ms")))
        let control = source.control
        let out = StampingEmitter()
        let replay = Task { try await source.run(into: out) }
        try await waitUntil("10 frames") { await out.count >= 10 }
        let changedAt = ReplayClock.now()
        XCTAssertTrue(control.setRate(0.25))
        XCTAssertFalse(control.setRate(0))
        XCTAssertEqual(control.status.rate, 0.25)
        try await replay.value
        let frames = await out.frames
        XCTAssertEqual(frames.count, 31)
        let after = frames.filter { $0.at > changedAt + 15_000_000 }
        let gaps = zip(after.dropFirst(), after).map { Double($0.at - $1.at) / 1e6 }.sorted()
        XCTAssertGreaterThan(gaps.count, 10)
        // 10 ms of recording at rate 0.25: 40 ms apart.
        let median = gaps[gaps.count / 2]
        XCTAssertEqual(median, 40, accuracy: 3, "gaps after the change: \(gaps)")
    }

    func testSeekGoesOnFromTheTargetFrameAndStaysPaused() async throws {
        let source = try RecordingSource(config: .init(path: try makeFile(), pace: .original))
        let control = source.control
        let out = StampingEmitter()
        XCTAssertNotNil(control.seek(.offset(nanoseconds: 0)), "refused before the replay opened its file")
        let replay = Task { try await source.run(into: out) }
        try await waitUntil("5 frames") { await out.count >= 5 }
        control.pause()
        try await Task.sleep(for: .milliseconds(50))
        let beforeSeek = await out.count
        XCTAssertNotNil(control.seek(.offset(nanoseconds: 2_000_000_000)), "past the end")
        XCTAssertNil(control.seek(.offset(nanoseconds: 805_000_000)))
        try await Task.sleep(for: .milliseconds(100))
        let whilePaused = await out.count
        XCTAssertEqual(whilePaused, beforeSeek, "a paused replay stays paused after a seek")
        control.resume()
        try await waitUntil("the frame after the seek") { await out.count > beforeSeek }
        // Back to an absolute receive time.
        XCTAssertNil(control.seek(.unixNanoseconds(Self.t0 + 100_000_000)))
        try await Task.sleep(for: .milliseconds(60))
        replay.cancel()
        _ = try? await replay.value
        let frames = await out.frames.map(\.receiveNs)
        // The first frame after the seek is the first at or after 805 ms: 810 ms.
        XCTAssertEqual(frames[beforeSeek], Self.t0 + 810_000_000)
        let back = try XCTUnwrap(frames.lastIndex(of: Self.t0 + 100_000_000), "\(frames)")
        XCTAssertGreaterThan(back, beforeSeek)
        XCTAssertEqual(control.status.seeks, 2)
    }

    /// A seek sends each latched state track's last frame before the target first, then goes
    /// on from the target: a viewer sees the state it would have had there.
    func testSeekSendsLatchedStateBeforeTheTarget() async throws {
        let p = dir.appendingPathComponent("latch.tbag").path
        let w = try RecordingWriter(path: p)
        let imu = try w.addTrack(TrackInfo(identity: "robot", name: "imu"))
        let mode = try w.addTrack(TrackInfo(identity: "robot", name: "mode"))
        for i in 0...100 { try w.append(track: imu, receiveTimeNs: Self.t0 + Int64(i) * 10_000_000, userTimestamp: nil, payload: [UInt8(i)]) }
        try w.append(track: mode, receiveTimeNs: Self.t0 + 50_000_000, userTimestamp: 500, payload: Array("idle".utf8))
        try w.append(track: mode, receiveTimeNs: Self.t0 + 600_000_000, userTimestamp: 6000, payload: Array("moving".utf8))
        try w.close()
        let source = try RecordingSource(config: .init(paths: [p], pace: .original, latch: ["*/mode"]))
        let control = source.control
        control.pause()
        let out = CollectingEmitter()
        let replay = Task { try await source.run(into: out) }
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertNil(control.seek(.offset(nanoseconds: 700_000_000)))
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertTrue(control.step(frames: 1))
        let deadline = ContinuousClock.now + .seconds(5)
        while await out.frames.count < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        replay.cancel()
        _ = try? await replay.value
        let frames = await out.frames
        // The latched state at 600 ms (sent at once, paused or not), then the step's frame at 700 ms.
        XCTAssertEqual(frames.prefix(2).map(\.track.name), ["mode", "imu"], "\(frames.map(\.track.name))")
        XCTAssertEqual(frames.first?.payload, Array("moving".utf8))
        XCTAssertEqual(frames.dropFirst().first?.receiveTimeNs, Self.t0 + 700_000_000)
        XCTAssertEqual(frames.count, 2, "paused: only the latched state and the stepped frame")
    }
}
