import XCTest
@testable import Pipeline
@testable import Stages
import Codecs

/// `schemas/pipeline.schema.json` must stay in step with the registry: valid JSON, and every
/// built-in stage type described for its kind.
final class SchemaTests: XCTestCase {
    func testPipelineSchemaDescribesEveryBuiltinStage() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("schemas/pipeline.schema.json")
        let schema = try JSONText.parse(Array(try Data(contentsOf: url)))
        guard case .object(let defs)? = schema["$defs"] else { return XCTFail("no $defs") }
        let byKind: [StageKind: String] = [.source: "source", .transform: "transform", .sink: "sink"]
        for registration in BuiltinStages.all {
            let def = try XCTUnwrap(defs.first { $0.key == byKind[registration.kind] }?.value)
            guard case .array(let rules)? = def["allOf"] else { return XCTFail("no allOf for \(registration.kind)") }
            let described = rules.contains { $0["if"]?["properties"]?["type"]?["const"] == .string(registration.type) }
            XCTAssertTrue(described, "\(registration.kind.rawValue) '\(registration.type)' is missing from schemas/pipeline.schema.json")
        }
    }
}
