import Foundation
import TestSupport
import XCTest
@testable import Codecs

/// The descriptor set and messages were written by Google's Python `protobuf` library (7.36):
/// `Tests/fixtures/schemas/sample.desc` holds google/protobuf/{timestamp,duration,wrappers}.proto
/// and two test files, `t` (proto3) and `t2` (proto2); each message below is the library's
/// serialization of the value named beside it.
final class ProtobufDecoderTests: XCTestCase {
    private func schema(file: StaticString = #filePath) throws -> ProtobufSchema {
        let root = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
        let bytes = try Data(contentsOf: root.appendingPathComponent("fixtures/schemas/sample.desc"))
        return try ProtobufSchema(fileDescriptorSet: [UInt8](bytes))
    }

    func testListsEveryMessageTypeByFullName() throws {
        let names = try schema().messageNames
        for name in ["google.protobuf.Timestamp", "google.protobuf.DoubleValue", "t.Vec", "t.Sample",
                     "t.Sample.TagsEntry", "t.Node", "t2.Legacy", "t2.Legacy.G"] {
            XCTAssertTrue(names.contains(name), name)
        }
    }

    func testDecodesEveryProto3FeatureByteByByte() throws {
        let decoder = try schema().decoder(for: "t.Sample")
        let message = hex("""
            08 07                                   // 1 id: uint32 7
            12 03 696d75                            // 2 name: "imu"
            1a 12 09 000000000000f83f               // 3 accel: Vec{x: 1.5,
                  19 1f85eb51b89e2340               //               z: 9.81} (y absent)
            22 03 01 04 05                          // 4 samples: packed sint32 [-1, 2, -3] (zigzag)
            28 01                                   // 5 mode: RUN
            32 0c 08 c086cfc906 10 80cab5ee01       // 6 stamp: Timestamp{1765000000 s, 500000000 ns}
            3a 05 0a 01 61 10 01                    // 7 tags: {"a": 1}
            3a 05 0a 01 62 10 02                    // 7 tags: {"b": 2}
            48 fbffffffffffffffff01                 // 9 number: int64 -5 (oneof value; text absent)
            52 09 09 000000000000d03f               // 10 gain: DoubleValue 0.25
            5a 08 08 01 10 80cab5ee01               // 11 period: Duration 1.5 s
            61 ffffffffffffffff                     // 12 big: fixed64 2^64-1
            72 02 00ff                              // 14 blob: bytes 00 ff (13 maybe: absent)
            """)
        XCTAssertEqual(try decoder.decode(message), .object([
            ("id", .int(7)),
            ("name", .string("imu")),
            ("accel", .object([("x", .double(1.5)), ("y", .double(0)), ("z", .double(9.81))])),
            ("samples", .array([.int(-1), .int(2), .int(-3)])),
            ("mode", .string("RUN")),
            ("stamp", .string("2025-12-06T05:46:40.500Z")),
            ("tags", .object([("a", .int(1)), ("b", .int(2))])),
            ("number", .int(-5)),
            ("gain", .double(0.25)),
            ("period", .string("1.500s")),
            ("big", .uint(UInt64.max)),
            ("blob", .bytes([0x00, 0xFF])),
        ]))
    }

    func testAbsentProto3FieldsReadAsTheirZeroValues() throws {
        let decoder = try schema().decoder(for: "t.Sample")
        XCTAssertEqual(try decoder.decode([]), .object([
            ("id", .int(0)), ("name", .string("")), ("accel", .null), ("samples", .array([])),
            ("mode", .string("IDLE")), ("stamp", .null), ("tags", .object([])), ("gain", .null),
            ("period", .null), ("big", .int(0)), ("blob", .bytes([])),
        ]))
    }

    func testAcceptsUnpackedRepeatsSkipsUnknownAndMistypedFieldsAndKeepsTheLastValue() throws {
        let decoder = try schema().decoder(for: "t.Vec")
        let value = try decoder.decode(hex("""
            09 000000000000f03f     // x: 1.0
            09 0000000000000040     // x again: 2.0, the last one counts
            b8 06 2a                // field 103, varint: unknown, skipped
            10 05                   // y with wire type varint instead of fixed64: skipped
            """))
        XCTAssertEqual(value, .object([("x", .double(2)), ("y", .double(0)), ("z", .double(0))]))
        let samples = try schema().decoder(for: "t.Sample").decode(hex("20 01 20 04 22 01 05"))
        XCTAssertEqual(samples["samples"], .array([.int(-1), .int(2), .int(-3)]))
    }

    func testRepeatedFieldsGrowInLinearTime() throws {
        // 100,000 unpacked `samples` (tag 20, zigzag 1 = -1) then one packed run of 100,000 more:
        // copying the list per element, as a first version did, takes minutes here.
        let decoder = try schema().decoder(for: "t.Sample")
        var payload = [UInt8](repeating: 0, count: 200_000)
        for k in stride(from: 0, to: payload.count, by: 2) { payload[k] = 0x20; payload[k + 1] = 0x01 }
        payload += [0x22, 0xA0, 0x8D, 0x06] + [UInt8](repeating: 0x02, count: 100_000)  // length 100000, each +1
        let start = ContinuousClock.now
        guard case .array(let items)? = try decoder.decode(payload)["samples"] else { return XCTFail("no samples") }
        XCTAssertEqual(items.count, 200_000)
        XCTAssertEqual(items.first, .int(-1))
        XCTAssertEqual(items.last, .int(1))
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(20))
    }

    func testProto2DefaultsEnumsByNameAndGroups() throws {
        let decoder = try schema().decoder(for: "t2.Legacy")
        let value = try decoder.decode(hex("""
            23 28 09 24     // 4 g: group {5 x: 9}
            30 03           // 6 plain: sint64 -2
            """))
        XCTAssertEqual(value, .object([
            ("a", .int(42)), ("s", .string("hi")), ("m", .string("B")),
            ("g", .array([.object([("x", .int(9))])])), ("plain", .int(-2)),
        ]))
    }

    func testRecursiveMessagesDecodeUpToTheNestingLimitAndNoFurther() throws {
        let decoder = try schema().decoder(for: "t.Node")
        XCTAssertEqual(try decoder.decode(hex("0a 02 10 02 10 01")),
                       .object([("child", .object([("child", .null), ("v", .int(2))])), ("v", .int(1))]))
        // 200 nested `child` fields, innermost first: each wraps the previous in tag 0a + length.
        var nested: [UInt8] = []
        for _ in 0..<200 {
            var length = nested.count
            var prefix: [UInt8] = [0x0A]
            while length >= 0x80 { prefix.append(UInt8(length & 0x7F) | 0x80); length >>= 7 }
            prefix.append(UInt8(length))
            nested = prefix + nested
        }
        XCTAssertThrowsError(try decoder.decode(nested)) { error in
            XCTAssertTrue("\(error)".contains("nested deeper than"), "\(error)")
        }
    }

    func testMalformedMessagesAreErrorsNamingWhatAndWhere() throws {
        let decoder = try schema().decoder(for: "t.Sample")
        let cases: [(String, String)] = [
            ("12 05 69", "length 5 exceeds the 1 bytes left"),
            ("08", "varint truncated"),
            ("08 ffffffffffffffffff7f", "longer than 64 bits"),
            ("0f", "wire type 7"),
            ("00", "field number 0"),
            ("12 02 c3 28", "not valid UTF-8"),
            ("2c", "end-group tag for field 5 without a start"),
            ("61 0102", "fixed64 truncated"),
        ]
        for (input, expected) in cases {
            XCTAssertThrowsError(try decoder.decode(hex(input)), input) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(input): \(error)")
            }
        }
    }

    func testBadDescriptorSetsAndUnknownTypesAreErrors() throws {
        XCTAssertThrowsError(try ProtobufSchema(fileDescriptorSet: hex("0a 05 12")))
        XCTAssertThrowsError(try schema().decoder(for: "t.Missing")) { error in
            XCTAssertTrue("\(error)".contains("'t.Missing' is not in the descriptor set"), "\(error)")
        }
        // A file whose only message has a field of an undeclared message type.
        let file = hex("""
            0a 17                       // file
              12 01 70                  //   package "p"
              22 12                     //   message_type
                0a 01 4d                //     name "M"
                12 0d                   //     field
                  0a 01 66 18 01 28 0b  //       name "f", number 1, type message
                  32 04 2e 70 2e 58     //       type_name ".p.X"
            """)
        XCTAssertThrowsError(try ProtobufSchema(fileDescriptorSet: file)) { error in
            XCTAssertTrue("\(error)".contains("refers to unknown message '.p.X'"), "\(error)")
        }
    }

    func testFieldNumbersBeyondTheDirectTableDecode() throws {
        let set = hex("""
            0a 1b                       // file
              12 01 70                  //   package "p"
              22 0e                     //   message_type
                0a 01 4d                //     name "M"
                12 09                   //     field
                  0a 01 66 18 64        //       name "f", number 100
                  20 01 28 05           //       optional int32
              62 06 70726f746f33        //   syntax "proto3"
            """)
        let decoder = try ProtobufSchema(fileDescriptorSet: set).decoder(for: "p.M")
        XCTAssertEqual(try decoder.decode(hex("a0 06 07")), .object([("f", .int(7))]))  // tag 800: field 100, varint
        XCTAssertEqual(try decoder.decode([]), .object([("f", .int(0))]))
    }

    func testTimestampsAndDurationsFollowTheJSONMapping() {
        XCTAssertEqual(ProtobufWellKnown.rfc3339(seconds: 0, nanos: 0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(ProtobufWellKnown.rfc3339(seconds: -1, nanos: 0), "1969-12-31T23:59:59Z")
        XCTAssertEqual(ProtobufWellKnown.rfc3339(seconds: 951_782_400, nanos: 1000), "2000-02-29T00:00:00.000001Z")
        XCTAssertEqual(ProtobufWellKnown.rfc3339(seconds: 253_402_300_799, nanos: 1), "9999-12-31T23:59:59.000000001Z")
        XCTAssertEqual(ProtobufWellKnown.duration(seconds: -1, nanos: -500_000_000), "-1.500s")
        XCTAssertEqual(ProtobufWellKnown.duration(seconds: 3, nanos: 0), "3s")
    }
}
