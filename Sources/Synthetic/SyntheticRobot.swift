#if canImport(Glibc)
import Glibc
#endif
import TrackModel

/// A simulated robot: what `trackbag demo` records offline and publishes live, and what
/// benchmarks and tests use as a realistic mix. One robot, four tracks on their own periods:
/// `imu` 1 kHz × 48-byte little-endian floats, `joint_states` 100 Hz JSON, `odometry` 50 Hz
/// CBOR, `status` 1 Hz JSON (without a user timestamp, so files must keep that absence).
///
/// Time is counted in 1 ms ticks; `frames(atTick:)` says what the robot publishes at one.
/// `accel.z` hovers around gravity and spikes for 40 ms of every 997, so filters have something
/// to find.
public struct SyntheticRobot: Sendable {
    public struct Track: Sendable {
        public var name: String
        /// Every `periodTicks` ms.
        public var periodTicks: Int
        public var frameEncoding: String?
        public var schema: SchemaInfo?
    }

    public struct Frame: Sendable {
        public var track: String
        public var payload: [UInt8]
        public var userTimestamp: UInt64?
    }

    public var identity: String

    public init(identity: String = "robot-1") { self.identity = identity }

    public static let tracks: [Track] = [
        Track(name: "imu", periodTicks: 1),
        Track(name: "joint_states", periodTicks: 10, frameEncoding: "json",
              schema: SchemaInfo(name: "trackbag.demo.JointState", encoding: "jsonschema", data: Array(
                #"{"type":"object","properties":{"name":{"type":"array"},"position":{"type":"array"}}}"#.utf8))),
        Track(name: "odometry", periodTicks: 20, frameEncoding: "cbor"),
        Track(name: "status", periodTicks: 1000, frameEncoding: "json"),
    ]

    /// The frames published at millisecond `tick`, stamped `robotMicros` (the robot's clock in
    /// microseconds) except `status`.
    public func frames(atTick tick: Int, robotMicros: UInt64) -> [Frame] {
        let t = Double(tick) / 1000
        var out: [Frame] = []
        // accel xyz, gyro xyz, quaternion wxyz, time, tick: 12 floats = 48 bytes.
        let spike: Float = (tick % 997) < 40 ? 1.5 : 0
        let floats: [Float] = [0.02 * Float(sin(t)), 0.01 * Float(cos(t)), 9.81 + spike,
                               0.001, 0.002, 0.003, 1, 0, 0, 0, Float(t), Float(tick)]
        out.append(Frame(track: "imu", payload: floats.withUnsafeBytes { Array($0) }, userTimestamp: robotMicros))
        if tick % 10 == 0 {
            let p = (0..<6).map { Self.fixed4(sin(t + Double($0))) }.joined(separator: ",")
            let body = #"{"name":["j1","j2","j3","j4","j5","j6"],"position":[\#(p)],"accel":{"z":\#(9.81 + Double(spike))},"seq":\#(tick / 10)}"#
            out.append(Frame(track: "joint_states", payload: Array(body.utf8), userTimestamp: robotMicros))
        }
        if tick % 20 == 0 {
            let body = Self.cborMap([("x", cos(t)), ("y", sin(t)), ("theta", t.truncatingRemainder(dividingBy: 6.283)),
                                     ("v", 0.5), ("w", 0.1)])
            out.append(Frame(track: "odometry", payload: body, userTimestamp: robotMicros))
        }
        if tick % 1000 == 0 {
            let body = #"{"battery":\#(100 - tick / 1000),"mode":"autonomous","ok":true}"#
            out.append(Frame(track: "status", payload: Array(body.utf8), userTimestamp: nil))
        }
        return out
    }

    /// `x` with four decimals, without Foundation's formatter.
    static func fixed4(_ x: Double) -> String {
        let scaled = Int64((x * 10_000).rounded())
        let sign = scaled < 0 ? "-" : ""
        let magnitude = scaled.magnitude
        let fraction = String(magnitude % 10_000)
        return "\(sign)\(magnitude / 10_000).\(String(repeating: "0", count: 4 - fraction.count))\(fraction)"
    }

    /// A CBOR map of text keys to float64 values (RFC 8949 §3.1: major type 5, then 7/27
    /// floats): just what the simulated odometry needs.
    static func cborMap(_ entries: [(String, Double)]) -> [UInt8] {
        precondition(entries.count < 24)
        var out: [UInt8] = [0xA0 | UInt8(entries.count)]
        for (key, value) in entries {
            let utf8 = Array(key.utf8)
            out.append(0x60 | UInt8(utf8.count))  // text string, length < 24
            out += utf8
            out.append(0xFB)  // float64
            withUnsafeBytes(of: value.bitPattern.bigEndian) { out += $0 }
        }
        return out
    }
}
