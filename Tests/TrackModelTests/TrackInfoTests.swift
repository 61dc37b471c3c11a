import XCTest
import Foundation
import TrackModel

/// `TrackInfo` keeps its fields in one shared box: it must still behave as a plain value
/// (copies are independent, equality and hashing by content) and code as the stored fields did.
final class TrackInfoTests: XCTestCase {
    let schema = SchemaInfo(name: "pkg.Msg", encoding: "protobuf", data: [1, 2, 3])

    func testCopiesAreIndependentValues() {
        let original = TrackInfo(identity: "robot-with-a-long-identity", name: "telemetry", frameEncoding: "json")
        var copy = original
        XCTAssertEqual(copy, original)
        copy.sid = "DTR_2"
        copy.pubHandle = 7
        copy.encryption = .gcm
        copy.schema = schema
        copy.frameEncoding = "protobuf"
        copy.name = "other"
        copy.identity = "someone"
        XCTAssertEqual(original.identity, "robot-with-a-long-identity")
        XCTAssertEqual(original.name, "telemetry")
        XCTAssertNil(original.sid)
        XCTAssertNil(original.pubHandle)
        XCTAssertEqual(original.encryption, .none)
        XCTAssertEqual(original.frameEncoding, "json")
        XCTAssertNil(original.schema)
        XCTAssertEqual(copy, TrackInfo(identity: "someone", name: "other", sid: "DTR_2", pubHandle: 7, encryption: .gcm,
                                       frameEncoding: "protobuf", schema: schema))
        XCTAssertNotEqual(copy, original)
        XCTAssertEqual(copy.key, TrackKey(identity: "someone", name: "other"))
    }

    func testEqualityAndHashingAreByContent() {
        let a = TrackInfo(identity: "r", name: "n", sid: "DTR_1", schema: schema)
        let b = TrackInfo(identity: "r", name: "n", sid: "DTR_1", schema: schema)
        XCTAssertEqual(a, b)
        XCTAssertEqual(Set([a, b]).count, 1)
        XCTAssertEqual([a: 1][b], 1)
        XCTAssertNotEqual(a, TrackInfo(identity: "r", name: "n", sid: "DTR_2", schema: schema))
        XCTAssertNotEqual(a, TrackInfo(identity: "r", name: "n", sid: "DTR_1"))
    }

    /// The coded form is the one the synthesized conformance of the stored fields wrote.
    func testCodesAsTheStoredFieldsDid() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let bare = TrackInfo(identity: "r", name: "n")
        XCTAssertEqual(String(decoding: try encoder.encode(bare), as: UTF8.self), #"{"encryption":"none","identity":"r","name":"n"}"#)
        let full = TrackInfo(identity: "r", name: "n", sid: "DTR_1", pubHandle: 9, encryption: .gcm, frameEncoding: "cbor", schema: schema)
        XCTAssertEqual(String(decoding: try encoder.encode(full), as: UTF8.self),
                       #"{"encryption":"gcm","frameEncoding":"cbor","identity":"r","name":"n","pubHandle":9,"#
                       + #""schema":{"data":[1,2,3],"encoding":"protobuf","name":"pkg.Msg"},"sid":"DTR_1"}"#)
        for track in [bare, full] {
            XCTAssertEqual(try JSONDecoder().decode(TrackInfo.self, from: try encoder.encode(track)), track)
        }
        XCTAssertThrowsError(try JSONDecoder().decode(TrackInfo.self, from: Data(#"{"identity":"r","name":"n"}"#.utf8)))
    }
}
