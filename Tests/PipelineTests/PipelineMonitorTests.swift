import XCTest
import Observability
import Synchronization
@testable import Pipeline

final class PipelineMonitorTests: XCTestCase {
    /// A snapshot while frames flow shows them part way (the sink holds still after 200 frames
    /// until the test has looked, so "part way" does not depend on timing); after the run it
    /// holds exactly the report's counters.
    func testSnapshotsFollowTheRunAndEndOnTheReportsCounters() async throws {
        let sink = HaltingSink(haltAfter: 200)
        var graph = PipelineGraph()
        graph.addSource("in", CountingSource(count: 400, batchSize: 4))
        graph.addTransform("mark", MarkingTransform(), inputs: ["in"], buffer: EdgeBuffer(capacity: 16, policy: .block))
        graph.addSink("out", sink, inputs: ["mark"], buffer: EdgeBuffer(capacity: 16, policy: .block))
        let monitor = PipelineMonitor()
        let before = await monitor.snapshot()
        XCTAssertNil(before)
        let run = Task { try await graph.run(monitor: monitor) }
        var midway: PipelineSnapshot?
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let s = await monitor.snapshot(), let out = s.stages.last, out.counters.framesOut >= 200 {
                midway = s
                break
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        sink.resume()
        let report = try await run.value
        let live = try XCTUnwrap(midway, "no snapshot saw the sink write")
        let liveOut = try XCTUnwrap(live.stages.first { $0.name == "out" })
        XCTAssertEqual(liveOut.counters.framesOut, 200)
        XCTAssertEqual(liveOut.bytesOut, 200)
        XCTAssertEqual(liveOut.queueCapacity, 16)
        XCTAssertLessThanOrEqual(liveOut.queueDepth, 16)
        let final = await monitor.snapshot()
        let last = try XCTUnwrap(final)
        for stage in report.stages {
            let seen = try XCTUnwrap(last.stages.first { $0.name == stage.name })
            XCTAssertEqual(seen.counters, stage.counters, stage.name)
            XCTAssertEqual(seen.queueDepth, 0, stage.name)
        }
        XCTAssertEqual(last.stages.first { $0.name == "out" }?.bytesOut, report.stages.last?.counters.bytesIn)
        XCTAssertEqual(last.stages.first { $0.name == "mark" }?.bytesOut, report.stages.first { $0.name == "mark" }?.counters.bytesIn)
        let samples = last.metricSamples()
        let written = samples.first { $0.name == "trackbag_stage_frames_out_total" && $0.labels.contains { $0 == ("stage", "out") } }
        XCTAssertEqual(written?.value, 400)
        XCTAssertEqual(written?.kind, .counter)
    }
}

/// Takes frames until `haltAfter`, then waits for `resume()` before taking more.
final class HaltingSink: SinkStage {
    let haltAfter: Int
    private let written = Mutex(0)
    private let gate = AsyncStream<Void>.makeStream()

    init(haltAfter: Int) { self.haltAfter = haltAfter }

    func write(_ batch: Batch) async throws {
        let before = written.withLock { n -> Int in
            defer { n += batch.frames.count }
            return n
        }
        if before == haltAfter {
            for await _ in gate.stream { break }
        }
    }

    func finish() async throws {}

    func resume() { gate.continuation.finish() }
}
