import ArgumentParser
import Foundation
import Recording
import TrackModel

/// Hidden: writes a deterministic synthetic session until killed (or `--max-seconds`), printing
/// `{"committed": [n per track]}` after every commit. The crash test
/// (Tests/interop/test_recording_crash.py) kills it with SIGKILL and checks the file holds every
/// frame a line reported. Frame k of track t (0-based) is:
///   receive time  1_700_000_000_000_000_000 + k * 1_000_000 + t
///   user ts       k when k % 3 == 0; u64 max - k when k % 3 == 1; absent when k % 3 == 2
///   payload       length (k * 37 + t) % 257 (0 allowed); byte j = (k * 131 + j * 7 + t) & 0xFF
struct WriteForever: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "write-forever")

    @Option var out: String
    @Option var tracks = 4
    @Option(help: "Frames per second over all tracks.") var rate = 20_000
    @Option var chunkBytes = 16_384
    @Option var maxSeconds = 30.0

    func run() async throws {
        let writer = try RecordingWriter(path: out, options: .init(chunkBytes: chunkBytes, overwrite: true, room: "crash-test"))
        var ids: [Int] = []
        for t in 0..<tracks { ids.append(try writer.addTrack(TrackInfo(identity: "robot-\(t)", name: "t\(t)", frameEncoding: "binary"))) }
        var lastCommitted = 0
        let start = ReplayClock.now()
        var payload: [UInt8] = []
        var n = 0
        while true {
            let t = n % tracks, k = n / tracks
            payload.removeAll(keepingCapacity: true)
            for j in 0..<((k * 37 + t) % 257) { payload.append(UInt8((k * 131 + j * 7 + t) & 0xFF)) }
            let uts: UInt64? = k % 3 == 0 ? UInt64(k) : (k % 3 == 1 ? UInt64.max - UInt64(k) : nil)
            try writer.append(track: ids[t], receiveTimeNs: 1_700_000_000_000_000_000 + Int64(k) * 1_000_000 + Int64(t),
                              userTimestamp: uts, payload: payload)
            n += 1
            if writer.committedFrameCount != lastCommitted {
                lastCommitted = writer.committedFrameCount
                let counts = ids.map { writer.committedFrames(track: $0) }
                let line = "{\"committed\": [\(counts.map(String.init).joined(separator: ", "))]}\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            }
            if n % 100 == 0 {
                let due = start + Int64(Double(n) / Double(rate) * 1e9)
                let now = ReplayClock.now()
                if due > now { usleep(UInt32((due - now) / 1000)) }
                if Double(now - start) / 1e9 > maxSeconds { break }
            }
        }
        try writer.close()
    }
}
