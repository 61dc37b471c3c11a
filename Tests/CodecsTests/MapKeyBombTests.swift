import XCTest
@testable import Codecs

/// CBOR and MessagePack map keys that are not text become their JSON text. Keys nested in keys
/// doubled in length per level (each level escapes the one below), so a few hundred bytes took
/// seconds or all memory (found by the cbor and msgpack fuzz targets).
final class MapKeyBombTests: XCTestCase {
    /// `levels` maps, each the single key of the next, innermost {"a": 0}; every value 0.
    func nested(mapHead: UInt8, text: [UInt8], levels: Int) -> [UInt8] {
        Array(repeating: mapHead, count: levels) + text + Array(repeating: 0x00, count: levels)
    }

    func testNestedKeysBeyondTheLimitAreRefused() {
        let cbor = nested(mapHead: 0xA1, text: [0x61, 0x61], levels: 24)
        let messagePack = nested(mapHead: 0x81, text: [0xA1, 0x61], levels: 24)
        for (name, decode) in [("CBOR", { try CBOR.decode(cbor) }), ("MessagePack", { try MessagePack.decode(messagePack) })] {
            let started = ContinuousClock.now
            XCTAssertThrowsError(try decode(), name) { error in
                guard let e = error as? CodecError else { return XCTFail("untyped error \(error)") }
                XCTAssertTrue(e.message.contains("map key longer than 4096 bytes"), e.message)
            }
            XCTAssertLessThan(ContinuousClock.now - started, .seconds(1), name)
        }
    }

    func testShortNonTextKeysStillBecomeTheirJSONText() throws {
        // {{"a": 0}: 0}
        let cbor = try CBOR.decode([0xA1, 0xA1, 0x61, 0x61, 0x00, 0x00])
        XCTAssertEqual(cbor, .object([(key: #"{"a":0}"#, value: .int(0))]))
        let messagePack = try MessagePack.decode([0x81, 0x81, 0xA1, 0x61, 0x00, 0x00])
        XCTAssertEqual(messagePack, .object([(key: #"{"a":0}"#, value: .int(0))]))
    }
}
