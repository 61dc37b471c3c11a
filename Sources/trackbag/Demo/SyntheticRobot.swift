import Foundation
import Recording
import TrackModel
import Synthetic

/// A simulated robot session, written straight to a `.tbag`: what `make demo` records before
/// the live room parts exist. The tracks mirror the live demo's robot (issue: record and replay):
/// `imu` 1 kHz × 48-byte little-endian floats, `joint_states` 100 Hz JSON, `odometry` 50 Hz
/// CBOR, `status` 1 Hz JSON. User timestamps are the robot's clock in microseconds.
struct SyntheticRobot {
    var identity = "robot-1"
    var durationSeconds = 10
    /// Unix ns of the first frame.
    var startNs: Int64 = Int64(Date().timeIntervalSince1970 * 1e9)

    struct Written {
        var frames: Int
        var perTrack: [String: Int]
    }

    func write(to path: String) throws -> Written {
        let writer = try RecordingWriter(path: path, options: .init(overwrite: true, room: "demo", startTimeNs: startNs))
        var perTrack: [String: Int] = [:]
        let json = SchemaInfo(name: "trackbag.demo.JointState", encoding: "jsonschema",
                              data: Array(#"{"type":"object","properties":{"name":{"type":"array"},"position":{"type":"array"}}}"#.utf8))
        let imu = try writer.addTrack(TrackInfo(identity: identity, name: "imu", sid: "DTR_demoimu0001", pubHandle: 1))
        let joints = try writer.addTrack(TrackInfo(identity: identity, name: "joint_states", sid: "DTR_demojoint002",
                                                   pubHandle: 2, frameEncoding: "json", schema: json))
        let odom = try writer.addTrack(TrackInfo(identity: identity, name: "odometry", sid: "DTR_demoodom0003",
                                                 pubHandle: 3, frameEncoding: "cbor"))
        let status = try writer.addTrack(TrackInfo(identity: identity, name: "status", sid: "DTR_demostat0004",
                                                   pubHandle: 4, frameEncoding: "json"))
        try writer.record(event: SessionEvent(timeNs: startNs, kind: .join, identity: identity))
        for name in ["imu", "joint_states", "odometry", "status"] {
            try writer.record(event: SessionEvent(timeNs: startNs, kind: .publish, identity: identity, track: name))
        }
        var rng = SplitMix64(seed: 42)
        // Walk the session in 1 ms ticks; every track fires on its own period. A little receive
        // jitter (0–300 µs) stands in for the network.
        let ticks = durationSeconds * 1000
        for tick in 0..<ticks {
            let robotMicros = UInt64(1_700_000_000_000_000) + UInt64(tick) * 1000
            let t = Double(tick) / 1000
            func receive() -> Int64 { startNs + Int64(tick) * 1_000_000 + Int64(rng.next() % 300_000) }
            // imu: accel xyz, gyro xyz, quaternion wxyz… 12 floats = 48 bytes. accel.z hovers
            // around gravity and sometimes spikes, so the demo's filter has something to find.
            let spike: Float = (tick % 997) < 40 ? 1.5 : 0
            let floats: [Float] = [0.02 * Float(sin(t)), 0.01 * Float(cos(t)), 9.81 + spike,
                                   0.001, 0.002, 0.003, 1, 0, 0, 0, Float(t), 0]
            try writer.append(track: imu, receiveTimeNs: receive(), userTimestamp: robotMicros,
                              payload: floats.withUnsafeBytes { Array($0) })
            perTrack["imu", default: 0] += 1
            if tick % 10 == 0 {
                let p = (0..<6).map { String(format: "%.4f", sin(t + Double($0))) }.joined(separator: ",")
                let body = #"{"name":["j1","j2","j3","j4","j5","j6"],"position":[\#(p)],"accel":{"z":\#(9.81 + Double(spike))}}"#
                try writer.append(track: joints, receiveTimeNs: receive(), userTimestamp: robotMicros, payload: Array(body.utf8))
                perTrack["joint_states", default: 0] += 1
            }
            if tick % 20 == 0 {
                let body = CBORMap([("x", cos(t)), ("y", sin(t)), ("theta", t.truncatingRemainder(dividingBy: 6.283)),
                                    ("v", 0.5), ("w", 0.1)]).bytes
                try writer.append(track: odom, receiveTimeNs: receive(), userTimestamp: robotMicros, payload: body)
                perTrack["odometry", default: 0] += 1
            }
            if tick % 1000 == 0 {
                let body = #"{"battery":\#(100 - tick / 1000),"mode":"autonomous","ok":true}"#
                // Status frames carry no user timestamp: the recording must keep that absence.
                try writer.append(track: status, receiveTimeNs: receive(), userTimestamp: nil, payload: Array(body.utf8))
                perTrack["status", default: 0] += 1
            }
        }
        try writer.record(event: SessionEvent(timeNs: startNs + Int64(ticks) * 1_000_000, kind: .leave, identity: identity))
        try writer.close()
        return Written(frames: perTrack.values.reduce(0, +), perTrack: perTrack)
    }
}

/// A CBOR map of text keys to float64 values (RFC 8949 §3.1: major type 5, then 7/27 floats):
/// just what the simulated odometry needs.
struct CBORMap {
    var entries: [(String, Double)]
    init(_ entries: [(String, Double)]) { self.entries = entries }

    var bytes: [UInt8] {
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

