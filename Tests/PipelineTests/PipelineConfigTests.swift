import XCTest
@testable import Pipeline

final class PipelineConfigTests: XCTestCase {
    func testEveryProblemIsReportedTogetherWithItsPlace() throws {
        let text = """
            sources:
              in: {type: counter, count: 5, inputs: [x]}
              typo: {type: countr, count: 1}
            transforms:
              m1: {type: mark, inputs: [m2]}
              m2: {type: mark, inputs: [m1]}
              bad: {type: mark, inputs: [inn], speed: 3}
            sinks:
              out: {type: collect, inputs: [in, bad], buffer: {size: 0, when_full: later}}
              none: {type: collect}
            """
        let config = try PipelineConfig.parse(text, file: "p.yaml")
        XCTAssertThrowsError(try config.compile(registry: TestRegistry.all)) { error in
            let lines = (error as? PipelineError)?.allProblems.map(\.placedMessage) ?? []
            let expected = [
                "p.yaml:2:33: stage 'in': a source takes no inputs",
                "p.yaml:3:3: stage 'typo': output reaches no sink: add it to a sink's inputs or remove it",
                "p.yaml:3:16: stage 'typo': unknown source type 'countr'; known: counter, live",
                "p.yaml:5:3: stage 'm1': inputs form a cycle: m1 → m2 → m1",
                "p.yaml:7:30: stage 'bad': input 'inn' names no stage (did you mean 'in'?)",
                "p.yaml:7:36: stage 'bad': unknown option 'speed'",
                "p.yaml:9:58: stage 'out': buffer size must be at least 1 frame, found 0",
                "p.yaml:9:72: stage 'out': buffer when_full 'later' is not one of block, drop-oldest, drop-newest",
                "p.yaml:10:3: stage 'none': a sink needs at least one input",
            ]
            for line in expected {
                XCTAssertTrue(lines.contains(line), "missing: \(line)\nall:\n\(lines.joined(separator: "\n"))")
            }
            // Every problem names a stage and a line (no vague errors).
            XCTAssertTrue(lines.allSatisfy { $0.hasPrefix("p.yaml:") && $0.contains("stage '") }, lines.joined(separator: "\n"))
        }
    }

    func testUnknownSectionAndWrongShapes() throws {
        let config = try PipelineConfig.parse("sources: [1]\nsinkz: {}\n", file: "p.yaml")
        XCTAssertThrowsError(try config.compile(registry: TestRegistry.all)) { error in
            let lines = (error as? PipelineError)?.allProblems.map(\.placedMessage) ?? []
            XCTAssertTrue(lines.contains("p.yaml:1:10: 'sources' must be a map of named stages"), lines.joined(separator: "\n"))
            XCTAssertTrue(lines.contains("p.yaml:2:1: unknown section 'sinkz' (expected sources, transforms, sinks, schemas)"))
        }
    }

    func testAGoodConfigCompilesAndRunsWithLiveDefaults() async throws {
        let config = try PipelineConfig.parse("""
            {"sources": {"in": {"type": "counter", "count": 1000}},
             "transforms": {"m": {"type": "mark", "inputs": ["in"]}},
             "sinks": {"out": {"type": "collect", "inputs": "m", "buffer": {"size": 64}}}}
            """, file: "p.json")
        let graph = try config.compile(registry: TestRegistry.all)
        XCTAssertEqual(graph.nodes.map(\.name), ["in", "m", "out"])
        let out = try XCTUnwrap(graph.nodes.first { $0.name == "out" })
        XCTAssertEqual(out.buffer.capacity, 64)
        XCTAssertEqual(graph.policy(of: out), .block, "file sources default to block")
        let report = try await graph.run()
        XCTAssertEqual(report.stages.first { $0.name == "out" }?.counters.framesIn, 1000)

        let live = try PipelineConfig.parse("""
            sources: {in: {type: live}}
            sinks: {out: {type: collect, inputs: [in]}}
            """).compile(registry: TestRegistry.all)
        let liveOut = try XCTUnwrap(live.nodes.first { $0.name == "out" })
        XCTAssertEqual(live.policy(of: liveOut), .dropOldest, "live sources default to drop-oldest")
    }
}
