import XCTest
@testable import Codecs

final class Base64URLTests: XCTestCase {
    /// RFC 4648 §10 vectors, without padding.
    func testRFC4648Vectors() {
        let vectors = ["": "", "f": "Zg", "fo": "Zm8", "foo": "Zm9v", "foob": "Zm9vYg", "fooba": "Zm9vYmE", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64.encodeURL(Array(plain.utf8)), encoded)
            XCTAssertEqual(Base64.decodeURL(encoded), Array(plain.utf8))
            let padded = encoded + String(repeating: "=", count: (4 - encoded.count % 4) % 4)
            XCTAssertEqual(Base64.decodeURL(padded), Array(plain.utf8), padded)
        }
    }

    func testURLAlphabetAndStandardAlphabet() {
        let bytes: [UInt8] = [0xfb, 0xff, 0xbf]
        XCTAssertEqual(Base64.encodeURL(bytes), "-_-_")
        XCTAssertEqual(Base64.decodeURL("-_-_"), bytes)
        XCTAssertEqual(Base64.decodeURL("+/+/"), bytes)
    }

    func testAllByteValuesRoundTrip() {
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + length) }
            XCTAssertEqual(Base64.decodeURL(Base64.encodeURL(bytes)), bytes)
        }
    }

    func testRejectsInvalidText() {
        for text in ["Z", "Zg=", "Zg===", "Z===", "Zm=9v", "Zm9v!", "Zm 9v", "é", "=", "Zg=="+"Zg"] {
            XCTAssertNil(Base64.decodeURL(text), text)
        }
    }
}
