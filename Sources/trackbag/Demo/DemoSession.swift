import Foundation
import Recording
import Synthetic
import TrackModel

/// A simulated robot session written straight to a `.tbag`: the offline half of `trackbag demo`.
/// Receive times follow the robot's 1 ms ticks plus 0–300 µs of jitter standing in for the
/// network; user timestamps are the robot's clock in microseconds.
struct DemoSession {
    var robot = SyntheticRobot()
    var durationSeconds = 10
    /// Unix ns of the first frame.
    var startNs: Int64 = Int64(Date().timeIntervalSince1970 * 1e9)

    struct Written {
        var frames: Int
        var perTrack: [String: Int]
    }

    func write(to path: String) throws -> Written {
        let writer = try RecordingWriter(path: path, options: .init(overwrite: true, room: "demo", startTimeNs: startNs))
        var ids: [String: RecordingWriter.TrackID] = [:]
        for (index, track) in SyntheticRobot.tracks.enumerated() {
            ids[track.name] = try writer.addTrack(TrackInfo(
                identity: robot.identity, name: track.name, sid: "DTR_demo\(track.name.prefix(4))\(index)",
                pubHandle: UInt16(index + 1), frameEncoding: track.frameEncoding, schema: track.schema))
        }
        try writer.record(event: SessionEvent(timeNs: startNs, kind: .join, identity: robot.identity))
        for track in SyntheticRobot.tracks {
            try writer.record(event: SessionEvent(timeNs: startNs, kind: .publish, identity: robot.identity, track: track.name))
        }
        var rng = SplitMix64(seed: 42)
        var perTrack: [String: Int] = [:]
        let ticks = durationSeconds * 1000
        for tick in 0..<ticks {
            let robotMicros = UInt64(1_700_000_000_000_000) + UInt64(tick) * 1000
            for frame in robot.frames(atTick: tick, robotMicros: robotMicros) {
                guard let id = ids[frame.track] else { continue }
                let receive = startNs + Int64(tick) * 1_000_000 + Int64(rng.next() % 300_000)
                try writer.append(track: id, receiveTimeNs: receive, userTimestamp: frame.userTimestamp, payload: frame.payload)
                perTrack[frame.track, default: 0] += 1
            }
        }
        try writer.record(event: SessionEvent(timeNs: startNs + Int64(ticks) * 1_000_000, kind: .leave, identity: robot.identity))
        try writer.close()
        return Written(frames: perTrack.values.reduce(0, +), perTrack: perTrack)
    }
}
