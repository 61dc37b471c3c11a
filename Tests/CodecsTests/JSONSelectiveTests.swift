import Synthetic
import XCTest
@testable import Codecs

/// The selective JSON parse against the full one: it must throw on exactly the same payloads
/// and, where both succeed, return the full value's selection, so a lookup of any selected path
/// finds the same thing in both.
final class JSONSelectiveTests: XCTestCase {
    /// A path looked up as `filter` looks it up (`Value.at`).
    func lookup(_ value: Value, _ path: [ValuePathStep]) -> Value { value.at(path) }

    /// Asserts the property for one payload and one set of paths; returns whether it parsed.
    @discardableResult
    func check(_ bytes: [UInt8], _ paths: [[ValuePathStep]], file: StaticString = #filePath, line: UInt = #line) -> Bool {
        let selection = ValueSelection(paths: paths)
        let text = String(decoding: bytes, as: UTF8.self)
        let full = Result { try JSONText.parse(bytes) }
        let selected = Result { try JSONText.parse(bytes, selecting: JSONText.Selector(selection)) }
        switch (full, selected) {
        case (.failure, .failure):
            return false
        case (.success(let f), .success(let s)):
            XCTAssertEqual(s, selection.selecting(from: f), "\(text) selecting \(paths)", file: file, line: line)
            for path in paths {
                XCTAssertEqual(lookup(s, path), lookup(f, path), "\(text) at \(path)", file: file, line: line)
            }
            return true
        case (.success, .failure(let e)):
            XCTFail("selective refused what the full parse accepts: \(text) (\(e))", file: file, line: line)
        case (.failure(let e), .success):
            XCTFail("selective accepted what the full parse refuses: \(text) (\(e))", file: file, line: line)
        }
        return false
    }

    static let telemetry = #"{"seq":7,"pos":{"x":12.3456,"y":-7.891,"z":0.25},"vel":{"x":0.5,"y":0.01,"z":0},"accel":{"x":0.01,"y":-0.02,"z":9.81},"battery":0.87,"mode":"auto","pad":"xxxx"}"#

    func testSelectsOnlyTheNamedPathsOfTelemetry() throws {
        let bytes = Array(Self.telemetry.utf8)
        let selected = try JSONText.parse(bytes, selecting: JSONText.Selector(ValueSelection(paths: [[.member("accel"), .member("z")]])))
        XCTAssertEqual(selected, .object([("accel", .object([("z", .double(9.81))]))]))
        let two = try JSONText.parse(bytes, selecting: JSONText.Selector(ValueSelection(paths: [[.member("pos")], [.member("mode")]])))
        XCTAssertEqual(two, .object([("pos", .object([("x", .double(12.3456)), ("y", .double(-7.891)), ("z", .double(0.25))])), ("mode", .string("auto"))]))
        // Nothing selected: still checked, an empty container.
        XCTAssertEqual(try JSONText.parse(bytes, selecting: JSONText.Selector(.nothing)), .object([]))
        XCTAssertThrowsError(try JSONText.parse(Array(bytes.dropLast()), selecting: JSONText.Selector(.nothing)))
        // A bare `value` (empty path) is the whole value.
        XCTAssertEqual(try JSONText.parse(bytes, selecting: JSONText.Selector(ValueSelection(paths: [[]]))), try JSONText.parse(bytes))
    }

    func testHandWrittenPayloadsMatchTheFullParse() {
        let payloads: [String] = [
            Self.telemetry,
            #"{"a":{"b":{"c":[1,2,{"d":"deep"}]}},"e":[[],[{}],[[1]]]}"#,
            #" { "a" : 1 , "a" : 2 , "b" : { "a" : 3 } } "#,                    // duplicate names: the first counts
            #"{"a":{"x":1},"a":{"b":2}}"#,
            #"{"\u0061":1,"b\"q":2,"c\\":3,"\ud83d\ude00":4,"é":5,"e\u0301":6}"#,  // escaped and non-ASCII names
            #"{"K":1,"\u212a":2}"#,                                               // KELVIN SIGN is canonically "K"
            #"{"a":"caf\u00e9 \"quoted\" \\ \/ \b\f\n\r\t","b":"😀 ünïcödé"}"#,
            #"{"n":[0,-0,1e3,-1.5E-7,18446744073709551615,18446744073709551616,-9223372036854775808,-9223372036854775809,1.7976931348623157e309,123456789012345678901234567890]}"#,
            #"[1,"two",{"three":3},[4],null,true,false]"#,
            #"[]"#, #"{}"#, #"7"#, #""just a string""#, #"null"#, #"  true  "#,
            #"{"a":null,"b":[null],"c":{"d":null}}"#,
            // Malformed, in parts a selective parse skips and in parts it builds.
            #"{"a":1,"skip":[1,2,}"#, #"{"a":1,"skip":"\x"}"#, #"{"a":1,"skip":01}"#, #"{"a":1,"skip":1.}"#,
            #"{"a":1,"skip":1e}"#, #"{"a":1,"skip":-}"#, #"{"a":1,"skip":tru}"#, #"{"a":1,"skip":nul}"#,
            #"{"a":1,"skip":"\ud800"}"#, #"{"a":1,"skip":"\udc00x"}"#, #"{"a":1,"skip":"\u12"}"#,
            #"{"a":1,"skip":{"k" 1}}"#, #"{"a":1,"skip":{1:2}}"#, #"{"a":1,"skip":[1 2]}"#, #"{"a":1 "b":2}"#,
            #"{"a":1,"skip":"unterminated}"#, #"{"a":1}x"#, #"{"a":1,}"#, #"{"a":{"b":}}"#, #"{"a""#, #"{"#, "",
            #"{"a":[1,2,3],"b":"#, "{\"skip\":\"tab\tinside\",\"a\":1}", #"{"a\u0000":1}"#,
            "{\"skip\":\"\u{01}\"}",
            String(repeating: "[", count: 200) + String(repeating: "]", count: 200),  // deeper than the limit
            #"{"a":1,"skip":"# + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}",
        ]
        let pathSets: [[[ValuePathStep]]] = [
            [[.member("a")]],
            [[.member("a"), .member("b")], [.member("e"), .index(1), .index(0)]],
            [[.member("accel"), .member("z")], [.member("pos"), .member("y")]],
            [[.index(0)], [.index(2), .member("three")], [.index(5)], [.index(40)]],
            [[.member("n"), .index(3)], [.member("n"), .index(5)], [.member("n"), .index(8)]],
            [[.member("K")], [.member("é")], [.member("😀")], [.member("b\"q")], [.member("c\\")]],
            [[.member("a"), .member("b"), .member("c"), .index(2), .member("d")]],
            [[.member("b")], [.member("c"), .member("d")], [.member("missing"), .member("deeper")]],
            [[.member("skip")]],
            [],
        ]
        var parsed = 0
        for payload in payloads {
            for paths in pathSets where check(Array(payload.utf8), paths) { parsed += 1 }
        }
        XCTAssertGreaterThan(parsed, 100)
        // Invalid UTF-8 in a skipped string, in a name, and in a selected string.
        for bytes: [UInt8] in [[0x7B, 0x22, 0x73, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D],
                               [0x7B, 0x22, 0xC3, 0x22, 0x3A, 0x31, 0x7D],
                               [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x7D]] {
            for paths in pathSets { XCTAssertFalse(check(bytes, paths)) }
        }
    }

    /// Random values written with random spacing, then cut and corrupted: the selective parse
    /// agrees with the full one on every variant, for paths that hit and paths that miss.
    func testRandomPayloadsAndTheirCorruptionsMatchTheFullParse() {
        var rng = SplitMix64(seed: 0x5e1ec7)
        let names = ["a", "b", "accel", "z", "é", "K", "\u{212A}", "q\"", "\\", "😀", "x y", ""]
        func randomValue(_ depth: Int) -> Value {
            switch Int.random(in: 0..<(depth > 3 ? 6 : 9), using: &rng) {
            case 0: return .null
            case 1: return .bool(Bool.random(using: &rng))
            case 2: return .int(Int64.random(in: -1_000_000...1_000_000, using: &rng))
            case 3: return .uint(UInt64.random(in: UInt64(Int64.max) + 1...UInt64.max, using: &rng))
            case 4: return .double(Double.random(in: -1e6...1e6, using: &rng))
            case 5: return .string(String((0..<Int.random(in: 0..<6, using: &rng)).map { _ in "aé\"\\\n\u{1}😀x".randomElement(using: &rng)! }))
            case 6, 7: return .object((0..<Int.random(in: 0..<5, using: &rng)).map { _ in (names.randomElement(using: &rng)!, randomValue(depth + 1)) })
            default: return .array((0..<Int.random(in: 0..<5, using: &rng)).map { _ in randomValue(depth + 1) })
            }
        }
        func randomPath() -> [ValuePathStep] {
            (0..<Int.random(in: 0..<4, using: &rng)).map { _ in
                Bool.random(using: &rng) ? .member(names.randomElement(using: &rng)!) : .index(Int.random(in: 0..<4, using: &rng))
            }
        }
        var parsed = 0, refused = 0
        for _ in 0..<400 {
            var bytes: [UInt8] = []
            JSONText.write(randomValue(0), into: &bytes)
            // Spacing after structural characters, as other writers put it.
            bytes = bytes.flatMap { b -> [UInt8] in
                [UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "{"), UInt8(ascii: "[")].contains(b) && Bool.random(using: &rng) ? [b, 0x20] : [b]
            }
            let paths = (0..<Int.random(in: 1..<4, using: &rng)).map { _ in randomPath() }
            var variants = [bytes, Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng)))]
            if !bytes.isEmpty {
                var flipped = bytes
                flipped[Int.random(in: 0..<bytes.count, using: &rng)] = [0x22, 0x5C, 0x2C, 0x7D, 0x5D, 0xFF, 0x30, 0x00].randomElement(using: &rng)!
                variants.append(flipped)
            }
            for variant in variants {
                if check(variant, paths) { parsed += 1 } else { refused += 1 }
            }
        }
        XCTAssertGreaterThan(parsed, 400)
        XCTAssertGreaterThan(refused, 200)
    }

    /// Skipped strings are scanned eight bytes at a time: a quote, an escape, a control
    /// character, non-ASCII or broken UTF-8 at any place of any length up to five words must be
    /// judged as the full parse judges it.
    func testLongSkippedStringsWithASpecialByteAtEveryPlace() {
        let specials: [[UInt8]] = [[0x22], [0x5C, 0x22], [0x5C, 0x6E], [0x5C, 0x71], [0x00], [0x01], [0x1F], [0x20], [0x7F],
                                   [0xC3, 0xA9], [0xF0, 0x9F, 0x98, 0x80], [0xFF], [0xE2, 0x82], [0x80], [0xC0, 0xAF]]
        var parsed = 0, refused = 0
        for length in 0...40 {
            for place in 0...length {
                for special in specials {
                    var text = [UInt8](repeating: UInt8(ascii: "x"), count: length)
                    text.insert(contentsOf: special, at: place)
                    let bytes = Array(#"{"skip":""#.utf8) + text + Array(#"","keep":1}"#.utf8)
                    if check(bytes, [[.member("keep")]]) { parsed += 1 } else { refused += 1 }
                }
            }
        }
        XCTAssertGreaterThan(parsed, 4_000)
        XCTAssertGreaterThan(refused, 4_000)
    }

    /// Skipped numbers are checked without being computed: the same grammar (RFC 8259 §6).
    func testSkippedNumbersKeepTheGrammar() {
        let numbers = ["0", "-0", "7", "01", "-01", "00", "-", "--1", "+1", "1.", "1.5", ".5", "1e", "1e+", "1E-5", "1.5e3",
                       "1.0e+", "-a", "1.2.3", "1e5e5", "123456789012345678901234567890", "9.99", "-0.02", "0x10"]
        var parsed = 0
        for number in numbers {
            for bytes in [#"{"skip":\#(number),"keep":1}"#, #"{"skip":[\#(number)],"keep":1}"#, #"{"skip":\#(number)}"#] {
                if check(Array(bytes.utf8), [[.member("keep")]]) { parsed += 1 }
            }
        }
        XCTAssertEqual(parsed, 3 * 9)
    }

    func testSelectionUnionAndPruning() {
        let a = ValueSelection(paths: [[.member("a"), .member("b")]])
        let b = ValueSelection(paths: [[.member("a")]])
        XCTAssertEqual(a.union(b), b)
        XCTAssertEqual(a.union(.whole), .whole)
        XCTAssertEqual(ValueSelection(paths: [[.member("x")], []]), .whole)
        let value = Value.array([.int(0), .int(1), .int(2), .int(3)])
        XCTAssertEqual(ValueSelection(paths: [[.index(2)]]).selecting(from: value), .array([.null, .null, .int(2)]))
        XCTAssertEqual(ValueSelection(paths: [[.index(9)]]).selecting(from: value), .array([.null, .null, .null, .null]))
    }
}
