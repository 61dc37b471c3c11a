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

    /// One run reports every mistake: a misspelt key is both a missing option and an unknown one,
    /// and the unknown one names what it most likely meant; a type mismatch further down is
    /// reported too, and a config's own check of a stand-in value adds nothing.
    func testEveryMistakeIsReportedWithTheClosestKnownOption() throws {
        struct Filter: Decodable {
            var condition: String
            var every: Int?
            var window: Window?
            struct Window: Decodable { var seconds: Double }
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                condition = try c.decode(String.self, forKey: .condition)
                every = try c.decodeIfPresent(Int.self, forKey: .every)
                window = try c.decodeIfPresent(Window.self, forKey: .window)
                guard !condition.isEmpty else {
                    throw DecodingError.dataCorruptedError(forKey: .condition, in: c, debugDescription: "must not be empty")
                }
            }
            enum CodingKeys: String, CodingKey { case condition, every, window }
        }
        let options = try StageOptions(yaml: "wher: 'x > 1'\nevery: ten\nwindow: {secnds: 2}\nevry: 3\n", file: "p.yaml", stage: "f")
        XCTAssertThrowsError(try options.decode(Filter.self)) { error in
            let problems = (error as? PipelineError)?.allProblems.map(\.placedMessage) ?? []
            XCTAssertEqual(problems, [
                "p.yaml:1:1: stage 'f': missing option 'condition'",
                "p.yaml:1:1: stage 'f': unknown option 'wher' (did you mean 'condition'?)",
                "p.yaml:2:8: stage 'f': option 'every': expected an integer, found a string",
                "p.yaml:3:9: stage 'f': missing option 'window.seconds'",
                "p.yaml:3:10: stage 'f': unknown option 'window.secnds' (did you mean 'seconds'?)",
                "p.yaml:4:1: stage 'f': unknown option 'evry' (did you mean 'every'?)",
            ])
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
