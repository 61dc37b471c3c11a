import XCTest
import Foundation
@testable import Pipeline

final class PipelineRuntimeTests: XCTestCase {
    func testFanOutAndFanInDeliverEveryFrameOnEveryPath() async throws {
        let left = CollectingSink(), right = CollectingSink()
        var graph = PipelineGraph()
        graph.addSource("a", CountingSource(count: 5000, batchSize: 100))
        graph.addSource("b", CountingSource(count: 3000, batchSize: 7))
        graph.addTransform("mark", MarkingTransform(), inputs: ["a", "b"], buffer: EdgeBuffer(capacity: 10))
        graph.addSink("left", left, inputs: ["mark"])
        graph.addSink("right", right, inputs: ["mark", "a"])
        let report = try await graph.run()
        let leftFrames = await left.frames, rightFrames = await right.frames
        XCTAssertEqual(leftFrames.count, 8000)
        XCTAssertEqual(rightFrames.count, 13000)
        XCTAssertEqual(rightFrames.filter { $0.value == .string("marked") }.count, 8000)
        let finishes = (await left.finishCount, await right.finishCount)
        XCTAssertEqual(finishes.0, 1)
        XCTAssertEqual(finishes.1, 1)
        XCTAssertEqual(report.ending, .finished)
        let mark = try XCTUnwrap(report.stages.first { $0.name == "mark" })
        XCTAssertEqual(mark.counters.framesIn, 8000)
        XCTAssertEqual(mark.counters.framesOut, 8000)
        XCTAssertEqual(mark.counters.framesDropped, 0)
        XCTAssertEqual(mark.counters.bytesIn, 8000)
        // Order within one source is kept through a path.
        let fromA = leftFrames.filter { $0.track.name == "imu" }.map(\.sequence)
        XCTAssertEqual(fromA.count, 8000)
    }

    /// Session metadata reaches each sink from the sources upstream of it, through transforms,
    /// once and before any frame; a key two sources disagree on is not passed on.
    func testSinksInheritTheSessionMetadataOfTheirUpstreamSources() async throws {
        var graph = PipelineGraph()
        graph.addSource("a", CountingSource(count: 10, batchSize: 5,
                                            sessionMetadata: ["user_timestamp_unit": "ns", "origin": "a"]))
        graph.addSource("b", CountingSource(count: 10, batchSize: 5,
                                            sessionMetadata: ["user_timestamp_unit": "ns", "origin": "b"]))
        graph.addSource("c", CountingSource(count: 10, batchSize: 5))
        graph.addTransform("mark", MarkingTransform(), inputs: ["a"])
        let onlyA = CollectingSink(), both = CollectingSink(), neither = CollectingSink()
        graph.addSink("only-a", onlyA, inputs: ["mark"])
        graph.addSink("both", both, inputs: ["a", "b"])
        graph.addSink("neither", neither, inputs: ["c"])
        _ = try await graph.run()
        let inheritedA = await onlyA.inherited
        let inheritedBoth = await both.inherited
        let inheritedNeither = await neither.inherited
        XCTAssertEqual(inheritedA, [["user_timestamp_unit": "ns", "origin": "a"]])
        XCTAssertEqual(inheritedBoth, [["user_timestamp_unit": "ns"]])
        XCTAssertEqual(inheritedNeither, [])
    }

    func testBlockLosesNothingBehindASlowSink() async throws {
        let sink = CollectingSink(delayNanoseconds: 200_000)
        var graph = PipelineGraph()
        graph.addSource("in", CountingSource(count: 2000, batchSize: 10))
        graph.addSink("out", sink, inputs: ["in"], buffer: EdgeBuffer(capacity: 20, policy: .block))
        let report = try await graph.run()
        let frames = await sink.frames
        XCTAssertEqual(frames.count, 2000)
        XCTAssertEqual(frames.map(\.sequence), (0..<2000).map(UInt64.init))
        XCTAssertEqual(report.stages.last?.counters.framesDropped, 0)
    }

    func testDropPoliciesDropAndCountBehindASlowSink() async throws {
        for policy in [OverflowPolicy.dropOldest, .dropNewest] {
            let sink = CollectingSink(delayNanoseconds: 1_000_000)
            var graph = PipelineGraph()
            graph.addSource("in", CountingSource(count: 5000, batchSize: 10))
            graph.addSink("out", sink, inputs: ["in"], buffer: EdgeBuffer(capacity: 50, policy: policy))
            let report = try await graph.run()
            let frames = await sink.frames
            let out = try XCTUnwrap(report.stages.last)
            XCTAssertLessThan(frames.count, 5000, "\(policy)")
            XCTAssertGreaterThan(out.counters.framesDropped, 0, "\(policy)")
            XCTAssertEqual(UInt64(frames.count) + out.counters.framesDropped, 5000, "\(policy): every frame delivered or counted")
            let sequences = frames.map(\.sequence)
            XCTAssertEqual(sequences, sequences.sorted(), "order kept")
            if policy == .dropOldest {
                XCTAssertEqual(sequences.last, 4999, "drop-oldest keeps the newest")
            } else {
                XCTAssertEqual(sequences.first, 0, "drop-newest keeps the oldest")
            }
            let v1 = await sink.finishCount
            XCTAssertEqual(v1, 1)
        }
    }

    func testStopDrainsAndFinishesEverySinkOnce() async throws {
        let sink = CollectingSink()
        var graph = PipelineGraph()
        graph.addSource("live", EndlessSource(delayNanoseconds: 100_000), isLive: true)
        graph.addTransform("mark", MarkingTransform(), inputs: ["live"])
        graph.addSink("out", sink, inputs: ["mark"])
        let stop = PipelineStop()
        Task {
            try await Task.sleep(nanoseconds: 100_000_000)
            stop.stop()
        }
        let report = try await graph.run(stop: stop)
        XCTAssertEqual(report.ending, .stopped)
        let frames = await sink.frames
        XCTAssertGreaterThan(frames.count, 0)
        let source = try XCTUnwrap(report.stages.first)
        XCTAssertEqual(UInt64(frames.count) + report.stages[2].counters.framesDropped + report.stages[1].counters.framesDropped,
                       source.counters.framesOut, "everything emitted was delivered or counted as dropped")
        let v2 = await sink.finishCount
        XCTAssertEqual(v2, 1)
        let v3 = await sink.writesAfterFinish
        XCTAssertEqual(v3, 0)
    }

    func testSIGINTStopsSourcesDrainsAndFinishes() async throws {
        let sink = CollectingSink()
        var graph = PipelineGraph()
        graph.addSource("live", EndlessSource(delayNanoseconds: 100_000), isLive: true)
        graph.addSink("out", sink, inputs: ["live"])
        Task {
            try await Task.sleep(nanoseconds: 100_000_000)
            kill(getpid(), SIGINT)
        }
        let report = try await graph.runUntilSignalled()
        XCTAssertEqual(report.ending, .stopped)
        let v4 = await sink.frames.count
        XCTAssertGreaterThan(v4, 0)
        let v5 = await sink.finishCount
        XCTAssertEqual(v5, 1)
    }

    /// A live source that holds frames (as the room source does) ends through its stop handler,
    /// not by cancellation, so its last batch still crosses a full, blocking edge.
    func testAStopHandlerSourceHandsOverItsLastFramesThroughABlockingEdge() async throws {
        let sink = CollectingSink(delayNanoseconds: 2_000_000)
        var graph = PipelineGraph()
        graph.addSource("live", HoldingSource(held: 200), isLive: true)
        graph.addSink("out", sink, inputs: ["live"], buffer: EdgeBuffer(capacity: 10, policy: .block))
        let stop = PipelineStop()
        Task {
            try await Task.sleep(nanoseconds: 50_000_000)
            stop.stop()
        }
        let report = try await graph.run(stop: stop)
        XCTAssertEqual(report.ending, .stopped)
        XCTAssertTrue(report.failures.isEmpty, "\(report.failures)")
        let received = await sink.frames.count
        XCTAssertEqual(received, 200, "every held frame reaches the sink after the stop")
    }

    func testASourceErrorStopsThePipelineWithItsNameAndStillFinishesSinks() async throws {
        let sink = CollectingSink()
        var graph = PipelineGraph()
        graph.addSource("bad", FailingSource(after: 30))
        graph.addSource("endless", EndlessSource(delayNanoseconds: 50_000))
        graph.addSink("out", sink, inputs: ["bad", "endless"])
        do {
            try await graph.run()
            XCTFail("expected the source error")
        } catch let error as PipelineError {
            XCTAssertEqual(error.stage, "bad")
            XCTAssertEqual(error.placedMessage, "in.dat:3: stage 'bad': source failed: disk on fire")
        }
        let v6 = await sink.frames.filter { $0.track.name == "imu" }.count
        XCTAssertGreaterThanOrEqual(v6, 30)
        let v7 = await sink.finishCount
        XCTAssertEqual(v7, 1)
    }

    func testATransformErrorStopsThePipeline() async throws {
        let sink = CollectingSink()
        var graph = PipelineGraph()
        graph.addSource("endless", EndlessSource())
        graph.addTransform("boom", FailingTransform(), inputs: ["endless"])
        graph.addSink("out", sink, inputs: ["boom"])
        let report = try await graph.runReporting()
        XCTAssertEqual(report.ending, .failed)
        XCTAssertEqual(report.failures.first?.placedMessage, "stage 'boom': transform failed: cannot digest")
        let v8 = await sink.finishCount
        XCTAssertEqual(v8, 1)
    }

    func testProgrammaticGraphProblemsAreReportedBeforeRunning() async throws {
        var graph = PipelineGraph()
        graph.addSource("in", CountingSource(count: 1, batchSize: 1))
        graph.addSink("out", CollectingSink(), inputs: ["nope"])
        do {
            try await graph.run()
            XCTFail("expected graph problems")
        } catch let error as PipelineError {
            XCTAssertTrue(error.allProblems.contains { $0.message.contains("input 'nope' names no stage") }, "\(error)")
        }
    }
}
