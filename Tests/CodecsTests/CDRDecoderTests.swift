import TestSupport
import XCTest
@testable import Codecs

/// The `sensor_msgs/Imu` and `JointState` payloads were written by `mcap-ros2-support` 0.6.0's
/// serializer (`mcap_ros2._dynamic.serialize_dynamic`) from the values asserted below; the
/// others are written out here byte by byte from the CDR rules (DDS-XTypes 1.3 §7.4).
final class CDRDecoderTests: XCTestCase {
    let zeros9 = String(repeating: "00", count: 72)

    func testDecodesAnImuWrittenByMcapRos2Support() throws {
        let decoder = CDRDecoder(schema: try ROS2MessageSchema(name: "sensor_msgs/msg/Imu", definition: ""))
        let payload = hex("""
            00 01 00 00                     // encapsulation: CDR little endian
            40 c3 33 69                     // header.stamp.sec 1765000000
            05 00 00 00                     // header.stamp.nanosec 5
            04 00 00 00 69 6d 75 00         // header.frame_id "imu" (length counts the NUL)
            0000000000000000 0000000000000000 0000000000000000 000000000000f03f  // orientation (already 8-aligned)
            \(zeros9)                       // orientation_covariance
            9a9999999999b93f 9a9999999999c93f 333333333333d33f                   // angular_velocity
            \(zeros9)
            0000000000000000 0000000000000000 1f85eb51b89e2340                   // linear_acceleration z 9.81
            \(zeros9)
            """)
        XCTAssertEqual(payload.count, 316)
        let value = try decoder.decode(payload)
        let nine = Value.array(Array(repeating: .double(0), count: 9))
        XCTAssertEqual(value, .object([
            ("header", .object([("stamp", .object([("sec", .int(1_765_000_000)), ("nanosec", .int(5))])),
                                ("frame_id", .string("imu"))])),
            ("orientation", .object([("x", .double(0)), ("y", .double(0)), ("z", .double(0)), ("w", .double(1))])),
            ("orientation_covariance", nine),
            ("angular_velocity", .object([("x", .double(0.1)), ("y", .double(0.2)), ("z", .double(0.3))])),
            ("angular_velocity_covariance", nine),
            ("linear_acceleration", .object([("x", .double(0)), ("y", .double(0)), ("z", .double(9.81))])),
            ("linear_acceleration_covariance", nine),
        ]))
    }

    func testDecodesAJointStateWithItsOwnDefinitionText() throws {
        let separator = String(repeating: "=", count: 80)
        let definition = """
            std_msgs/Header header
            string[] name
            float64[] position
            float64[] velocity
            float64[] effort
            \(separator)
            MSG: std_msgs/Header
            builtin_interfaces/Time stamp
            string frame_id
            \(separator)
            MSG: builtin_interfaces/Time
            int32 sec
            uint32 nanosec
            """
        let decoder = CDRDecoder(schema: try ROS2MessageSchema(name: "sensor_msgs/msg/JointState", definition: definition))
        let value = try decoder.decode(hex("""
            00 01 00 00
            01 00 00 00  02 00 00 00        // stamp 1 s 2 ns
            01 00 00 00  00 00 00 00        // frame_id "" (one NUL), pad to 4
            02 00 00 00                     // name: 2 strings
            02 00 00 00  61 00 00 00        //   "a", pad
            03 00 00 00  62 63 00 00        //   "bc", pad
            02 00 00 00                     // position: 2, the doubles already 8-aligned
            000000000000f03f 00000000000000c0
            00 00 00 00                     // velocity: none
            01 00 00 00                     // effort: 1
            000000000000e03f
            """))
        XCTAssertEqual(value["name"], .array([.string("a"), .string("bc")]))
        XCTAssertEqual(value["position"], .array([.double(1), .double(-2)]))
        XCTAssertEqual(value["velocity"], .array([]))
        XCTAssertEqual(value["effort"], .array([.double(0.5)]))
        XCTAssertEqual(value["header"]?["frame_id"], .string(""))
    }

    let mixed = """
        # a comment line
        uint8 a
        int16 b
        int32 LIMIT=10          # a constant: not on the wire
        string NAME = "x"       # another
        float64 c 2.5           # a default: ignored
        string<=5 s
        int32[2] arr
        uint8[] raw
        bool[<=3] flags
        """

    func testBigEndianAlignmentBoundedTypesAndByteSequences() throws {
        let decoder = CDRDecoder(schema: try ROS2MessageSchema(name: "test/msg/Mixed", definition: mixed))
        let value = try decoder.decode(hex("""
            00 00 00 00             // CDR big endian
            01 00                   // a 1, pad to 2
            ff fe                   // b -2
            00 00 00 00             // pad to 8 (offset 4 after the header)
            3ff8000000000000        // c 1.5
            00000003 68 69 00       // s "hi"
            00                      // pad to 4
            00000001 fffffffe       // arr [1, -2]
            00000002 aa bb          // raw: bytes
            00 00                   // pad to 4
            00000002 01 00          // flags [true, false]
            """))
        XCTAssertEqual(value, .object([
            ("a", .int(1)), ("b", .int(-2)), ("c", .double(1.5)), ("s", .string("hi")),
            ("arr", .array([.int(1), .int(-2)])), ("raw", .bytes([0xAA, 0xBB])),
            ("flags", .array([.bool(true), .bool(false)])),
        ]))
    }

    func testPlainCDR2AlignsEightByteValuesToFour() throws {
        let decoder = CDRDecoder(schema: try ROS2MessageSchema(name: "t/msg/T", definition: "uint8 a\nfloat64 b"))
        XCTAssertEqual(try decoder.decode(hex("00 07 00 00  05 000000  000000000000f03f")),
                       .object([("a", .int(5)), ("b", .double(1))]))
        XCTAssertEqual(try decoder.decode(hex("00 01 00 00  05 00000000000000  000000000000f03f")),
                       .object([("a", .int(5)), ("b", .double(1))]))
    }

    func testEmptyMessagesTakeOneByte() throws {
        let decoder = CDRDecoder(schema: try ROS2MessageSchema(name: "t/msg/T", definition: "std_msgs/Empty e\nuint8 x"))
        XCTAssertEqual(try decoder.decode(hex("00 01 00 00 00 07")), .object([("e", .object([])), ("x", .int(7))]))
    }

    func testHostilePayloadsAreErrorsNamingWhatAndWhere() throws {
        let decoder = CDRDecoder(schema: try ROS2MessageSchema(name: "test/msg/Mixed", definition: mixed))
        let head = "00 00 00 00 01 00 ff fe 00000000 3ff8000000000000"
        let cases: [(String, String)] = [
            ("00 01 00", "shorter than its 4-byte encapsulation header"),
            ("00 02 00 00", "encapsulation 0 2"),
            (head, "truncated"),
            (head + "00000006 616263646566 00", "exceeds its bound 5"),
            (head + "ffffffff", "string of 4294967295 bytes exceeds"),
            (head + "00000001 00 000000 00000001 fffffffe ffffff00", "elements exceeds the"),
            (head + "00000001 00 000000 00000001 fffffffe 00000000 00000004", "exceeds its bound 3"),
            (head + "00000002 c328", "not valid UTF-8"),
        ]
        for (input, expected) in cases {
            XCTAssertThrowsError(try decoder.decode(hex(input)), input) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(input): \(error)")
            }
        }
    }

    func testHostileSchemasAreRefusedWhenCompiled() {
        let cases: [(String, String, String)] = [
            ("a/msg/A", "a/B b", "a/B is not defined"),
            ("a/msg/A", "A self", "contains itself"),
            ("a/msg/A", "float64[99999999999] x", "array longer than"),
            ("a/msg/A", "int32[x] x", "bad array length"),
            ("a/msg/A", "int32<=3 x", "only strings take a bound"),
            ("a/msg/A", "uint8", "has no field name"),
        ]
        for (name, definition, expected) in cases {
            XCTAssertThrowsError(try ROS2MessageSchema(name: name, definition: definition), definition) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(definition): \(error)")
            }
        }
    }

    func testBundledDefinitionsCarryEveryUsedTypeOnce() throws {
        let text = try ROS2MessageSchema.bundledDefinition(
            of: "robot/msg/State", definitions: ["robot/msg/State": "geometry_msgs/Pose pose\nstd_msgs/Header header\nWheel[2] wheels",
                                                 "robot/msg/Wheel": "float64 speed"])
        for type in ["geometry_msgs/msg/Pose", "geometry_msgs/msg/Point", "geometry_msgs/msg/Quaternion",
                     "std_msgs/msg/Header", "builtin_interfaces/msg/Time", "robot/msg/Wheel"] {
            XCTAssertEqual(text.components(separatedBy: "MSG: \(type)\n").count, 2, type)
        }
        XCTAssertTrue(text.hasPrefix("geometry_msgs/Pose pose\n"))
        // The bundle alone compiles: nothing outside it is needed.
        let schema = try ROS2MessageSchema(name: "robot/msg/State", definition: text)
        XCTAssertEqual(schema.types.count, 7)
    }
}
