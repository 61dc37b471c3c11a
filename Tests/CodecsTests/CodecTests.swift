import Synthetic
import TestSupport
import XCTest
@testable import Codecs

final class CodecTests: XCTestCase {
    func testBase64RFC4648Vectors() throws {
        // RFC 4648 §10.
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64.encode(Array(plain.utf8)), encoded)
            XCTAssertEqual(try Base64.decode(Array(encoded.utf8)), Array(plain.utf8))
        }
        XCTAssertThrowsError(try Base64.decode(Array("Zm9".utf8)))
        XCTAssertThrowsError(try Base64.decode(Array("Zm*v".utf8)))
        XCTAssertThrowsError(try Base64.decode(Array("Z===".utf8)))
        XCTAssertThrowsError(try Base64.decode(Array("Zg==Zg==".utf8)))
    }

    func testJSONParsesExactIntegersAndWritesCanonically() throws {
        let v = try JSONText.parse(#" {"a" : [1, -2, 18446744073709551615, -9223372036854775808, 1.5, 1e3], "b\n": "\u00e9\ud83d\ude00\"", "c": null, "d": true} "#)
        XCTAssertEqual(v, .object([
            ("a", .array([.int(1), .int(-2), .uint(UInt64.max), .int(Int64.min), .double(1.5), .double(1000)])),
            ("b\n", .string("é😀\"")), ("c", .null), ("d", .bool(true)),
        ]))
        XCTAssertEqual(JSONText.text(v), #"{"a":[1,-2,18446744073709551615,-9223372036854775808,1.5,1000.0],"b\n":"é😀\"","c":null,"d":true}"#)
        XCTAssertEqual(JSONText.text(.bytes([1, 2])), #""AQI=""#)
        XCTAssertEqual(JSONText.text(.double(.nan)), "null")
        XCTAssertEqual(JSONText.text(.string("\u{01}")), #""\u0001""#)
    }

    func testJSONNumbersReadBackExactly() throws {
        var rng = SplitMix64(seed: 99)
        var texts = ["0.1", "-0.02", "123456789012345.6", "1e22", "1e-22", "1.7976931348623157e308", "5e-324",
                     "0.30000000000000004", "9.999999999999999e22", "1234567890123456789e-5", "-0.0"]
        for _ in 0..<2000 {
            texts.append(Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF).description.replacingOccurrences(of: "inf", with: "1"))
            texts.append(String(Double(Int64(bitPattern: rng.next() % 2_000_000) - 1_000_000) / 1000))
        }
        for text in texts where Double(text) != nil {
            guard case .double(let d) = try JSONText.parse(text) else { continue }
            XCTAssertEqual(d.bitPattern, Double(text)!.bitPattern, text)
        }
    }

    func testJSONRejectsMalformedInputWithOffsets() {
        let cases: [(String, Int)] = [
            ("{\"a\":}", 5), ("[1,]", 3), ("01", 0), ("\"abc", 0), ("tru", 0), ("{} x", 3), ("[1 2]", 3), ("\"\\x\"", 1),
            ("\"\\ud800\"", 7),
        ]
        for (text, offset) in cases {
            XCTAssertThrowsError(try JSONText.parse(text), text) { error in
                XCTAssertEqual((error as? CodecError)?.offset, offset, "\(text): \(error)")
            }
        }
        XCTAssertThrowsError(try JSONText.parse(String(repeating: "[", count: 10_000)))
        XCTAssertThrowsError(try JSONText.parse([0x22, 0xFF, 0x22]), "invalid UTF-8")
    }

    func testCBORRFC8949AppendixAVectors() throws {
        let vectors: [(String, Value)] = [
            ("00", .int(0)), ("17", .int(23)), ("1818", .int(24)), ("1903e8", .int(1000)),
            ("1b000000e8d4a51000", .int(1_000_000_000_000)), ("1bffffffffffffffff", .uint(UInt64.max)),
            ("20", .int(-1)), ("3863", .int(-100)), ("3bffffffffffffffff", .double(-18446744073709551616.0)),
            ("f90000", .double(0)), ("f93c00", .double(1)), ("f97bff", .double(65504)), ("fa47c35000", .double(100000)),
            ("fb3ff199999999999a", .double(1.1)), ("f90001", .double(5.960464477539063e-8)), ("f97c00", .double(.infinity)),
            ("f4", .bool(false)), ("f5", .bool(true)), ("f6", .null), ("f7", .null),
            ("6449455446", .string("IETF")), ("4401020304", .bytes([1, 2, 3, 4])),
            ("8301820203820405", .array([.int(1), .array([.int(2), .int(3)]), .array([.int(4), .int(5)])])),
            ("a201020304", .object([("1", .int(2)), ("3", .int(4))])),
            ("a26161016162820203", .object([("a", .int(1)), ("b", .array([.int(2), .int(3)]))])),
            ("5f42010243030405ff", .bytes([1, 2, 3, 4, 5])),
            ("7f657374726561646d696e67ff", .string("streaming")),
            ("9f018202039f0405ffff", .array([.int(1), .array([.int(2), .int(3)]), .array([.int(4), .int(5)])])),
            ("bf6346756ef563416d7421ff", .object([("Fun", .bool(true)), ("Amt", .int(-2))])),
            ("c074323031332d30332d32315432303a30343a30305a", .string("2013-03-21T20:04:00Z")),
        ]
        for (text, want) in vectors {
            XCTAssertEqual(try CBOR.decode(hex(text)), want, text)
        }
    }

    func testCBORTruncationsAndLiesAreErrorsNotCrashes() {
        let whole = hex("a26161016162820203")
        for n in 0..<whole.count {
            XCTAssertThrowsError(try CBOR.decode(Array(whole.prefix(n))), "prefix \(n)")
        }
        XCTAssertThrowsError(try CBOR.decode(hex("5bffffffffffffffff00")), "length beyond input")
        XCTAssertThrowsError(try CBOR.decode(hex("9bffffffffffffffff")), "array count beyond input")
        XCTAssertThrowsError(try CBOR.decode(hex("1c")), "reserved additional info")
        XCTAssertThrowsError(try CBOR.decode(hex("ff")), "lone break")
        XCTAssertThrowsError(try CBOR.decode(hex("0000")), "trailing bytes")
        XCTAssertThrowsError(try CBOR.decode([UInt8](repeating: 0x81, count: 5000) + [0]), "nesting bomb")
    }

    func testMessagePackVectors() throws {
        let vectors: [(String, Value)] = [
            ("93010203", .array([.int(1), .int(2), .int(3)])), ("81a16101", .object([("a", .int(1))])),
            ("cfffffffffffffffff", .uint(UInt64.max)), ("d38000000000000000", .int(Int64.min)),
            ("cb3ff199999999999a", .double(1.1)), ("ca3f800000", .double(1)), ("e0", .int(-32)), ("7f", .int(127)),
            ("c0", .null), ("c2", .bool(false)), ("c3", .bool(true)), ("c4020102", .bytes([1, 2])),
            ("d9036162 63", .string("abc")), ("cd0100", .int(256)), ("d0ff", .int(-1)), ("d40102", .bytes([2])),
            ("de0001a178c0", .object([("x", .null)])), ("dc0000", .array([])),
        ]
        for (text, want) in vectors {
            XCTAssertEqual(try MessagePack.decode(hex(text)), want, text)
        }
        XCTAssertThrowsError(try MessagePack.decode([0xC1]))
        XCTAssertThrowsError(try MessagePack.decode(hex("dbffffffff")))
        XCTAssertThrowsError(try MessagePack.decode(hex("ddffffffff")))
        XCTAssertThrowsError(try MessagePack.decode([UInt8](repeating: 0x91, count: 5000) + [0]))
        let whole = hex("81a16193010203")
        for n in 0..<whole.count { XCTAssertThrowsError(try MessagePack.decode(Array(whole.prefix(n))), "prefix \(n)") }
    }

    func testGlob() {
        XCTAssertTrue(Glob("robot-*/imu").matches("robot-12/imu"))
        XCTAssertTrue(Glob("r?bot").matches("robot"))
        XCTAssertFalse(Glob("r?bot").matches("rbot"))
        XCTAssertTrue(Glob("*").matches(""))
        XCTAssertTrue(Glob("a*b*c").matches("aXbYbZc"))
        XCTAssertFalse(Glob("a*b*c").matches("aXbYbZ"))
        XCTAssertFalse(Glob(String(repeating: "*a", count: 50) + "b").matches(String(repeating: "a", count: 200)))
    }
}
