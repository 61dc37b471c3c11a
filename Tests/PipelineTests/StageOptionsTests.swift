import XCTest
@testable import Pipeline

final class StageOptionsTests: XCTestCase {
    struct Options: Decodable {
        var count: Int
        var rate: Double?
        var name: String?
        var enabled: Bool?
        var inner: Inner?
        var list: [Int]?
        struct Inner: Decodable { var depth: UInt8 }
    }

    func testDecodesEveryScalarKindAndNesting() throws {
        let options = try StageOptions(yaml: """
            count: 0x10
            rate: 2
            name: 123
            enabled: true
            inner: {depth: 7}
            list: [1, -2, 3_000]
            """, file: "p.yaml", stage: "s")
        let o = try options.decode(Options.self)
        XCTAssertEqual(o.count, 16)
        XCTAssertEqual(o.rate, 2.0)
        XCTAssertEqual(o.name, "123")
        XCTAssertEqual(o.enabled, true)
        XCTAssertEqual(o.inner?.depth, 7)
        XCTAssertEqual(o.list, [1, -2, 3000])
    }

    func testUnknownKeysAreRejectedWithTheirPlaceEvenWhenNested() throws {
        let options = try StageOptions(yaml: "count: 1\ncolour: red\ninner: {depth: 1, width: 2}\n", file: "p.yaml", stage: "s")
        XCTAssertThrowsError(try options.decode(Options.self)) { error in
            let problems = (error as? PipelineError)?.allProblems ?? []
            XCTAssertEqual(problems.map(\.placedMessage), [
                "p.yaml:2:1: stage 's': unknown option 'colour'",
                "p.yaml:3:19: stage 's': unknown option 'inner.width'",
            ])
        }
    }

    func testTypeMismatchNamesExpectedFoundAndPosition() throws {
        let options = try StageOptions(yaml: "count: \"ten\"\n", file: "p.yaml", stage: "s")
        XCTAssertThrowsError(try options.decode(Options.self)) { error in
            XCTAssertEqual((error as? PipelineError)?.placedMessage,
                           "p.yaml:1:8: stage 's': option 'count': expected an integer, found a string")
        }
        let range = try StageOptions(yaml: "count: 1\ninner: {depth: 300}\n", file: "p.yaml", stage: "s")
        XCTAssertThrowsError(try range.decode(Options.self)) { error in
            XCTAssertEqual((error as? PipelineError)?.line, 2)
            XCTAssertTrue((error as? PipelineError)?.message.contains("out of range") ?? false)
        }
        let list = try StageOptions(yaml: "count: 1\nlist: [1, x]\n", file: "p.yaml", stage: "s")
        XCTAssertThrowsError(try list.decode(Options.self)) { error in
            XCTAssertEqual((error as? PipelineError)?.placedMessage,
                           "p.yaml:2:11: stage 's': option 'list.[1]': expected an integer, found a string")
        }
    }

    func testMissingOptionIsNamed() throws {
        let options = try StageOptions(yaml: "rate: 1.5\n", file: "p.yaml", stage: "s")
        XCTAssertThrowsError(try options.decode(Options.self)) { error in
            XCTAssertTrue((error as? PipelineError)?.message.contains("missing option 'count'") ?? false, "\(error)")
        }
    }

    func testJSONConfigsGetPositionsToo() throws {
        let options = try StageOptions(yaml: "{\n  \"count\": 1,\n  \"bogus\": true\n}", file: "p.json", stage: "s")
        XCTAssertThrowsError(try options.decode(Options.self)) { error in
            XCTAssertEqual((error as? PipelineError)?.placedMessage, "p.json:3:3: stage 's': unknown option 'bogus'")
        }
    }

    func testSyntaxErrorsCarryLineAndColumn() {
        XCTAssertThrowsError(try StageOptions(yaml: "a: [1, 2\nb: 3\n", file: "p.yaml")) { error in
            let e = error as? PipelineError
            XCTAssertEqual(e?.file, "p.yaml")
            XCTAssertNotNil(e?.line)
            XCTAssertTrue(e?.message.hasPrefix("YAML syntax") ?? false, "\(error)")
        }
    }
}
