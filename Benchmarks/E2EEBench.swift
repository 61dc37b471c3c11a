import DataTracks

/// Data track codec and E2EE throughput (the codec part of the E2EE benchmark): AES-128-GCM encrypt
/// and decrypt MB/s for 256-byte and 16,000-byte frames, and packetize / depacketize frames/s,
/// each beside the plain path in the same run. Figures are printed, never asserted. Every
/// measurement is bounded by time (`secondsPerCase`) and by iteration count.
enum DataTrackBench {
    struct Row {
        var name: String
        var framesPerSecond: Double
        var megabytesPerSecond: Double
        /// Sum of the sizes the measured code returned, so its work cannot be optimised away.
        var checksum: Int
    }

    static func run(secondsPerCase: Double = 0.5) throws -> [Row] {
        var rows = [Row]()
        let keys = try E2EEKeyProvider(sharedKey: E2EEKey(aesKey: [UInt8](repeating: 0x42, count: 16)))
        for size in [256, 16_000] {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            var cryptor = FrameCryptor(keys: keys)
            let (ciphertext, e2ee) = try cryptor.encrypt(payload, participant: "bench")

            rows.append(try measure("encrypt \(size) B", bytes: size, seconds: secondsPerCase) {
                try cryptor.encrypt(payload, participant: "bench").ciphertext.count
            })
            rows.append(try measure("decrypt \(size) B", bytes: size, seconds: secondsPerCase) {
                try cryptor.decrypt(ciphertext, e2ee: e2ee, participant: "bench").count
            })

            // Packetize (+ serialize): plain frame with a user timestamp vs the E2EE frame.
            var plainPacketizer = try Packetizer(handle: 1)
            rows.append(try measure("packetize plain \(size) B", bytes: size, seconds: secondsPerCase) {
                try plainPacketizer.packetizeEncoded(payload: payload, userTimestamp: 1).count
            })
            var e2eePacketizer = try Packetizer(handle: 1)
            rows.append(try measure("packetize e2ee \(size) B", bytes: size, seconds: secondsPerCase) {
                try e2eePacketizer.packetizeEncoded(payload: ciphertext, userTimestamp: 1, e2ee: e2ee).count
            })

            // Depacketize (decode + reassemble) a pre-made stream of frames, cycling through it.
            for (label, body, ext) in [("plain", payload, nil), ("e2ee", ciphertext, e2ee)]
                as [(String, [UInt8], DataTrackPacket.E2EEExtension?)] {
                var source = try Packetizer(handle: 1)
                var stream = [[[UInt8]]]()
                for _ in 0..<256 { stream.append(try source.packetizeEncoded(payload: body, userTimestamp: 1, e2ee: ext)) }
                var depacketizer = Depacketizer()
                var next = 0
                rows.append(try measure("depacketize \(label) \(size) B", bytes: size, seconds: secondsPerCase) {
                    var delivered = 0
                    for packet in stream[next] {
                        if let frame = try depacketizer.push(encoded: packet).frame { delivered += frame.payload.count }
                    }
                    next = (next + 1) % stream.count
                    return delivered
                })
            }

            // Whole path, publisher to subscriber, plain vs E2EE.
            var pubPlain = try Packetizer(handle: 1)
            var subPlain = Depacketizer()
            rows.append(try measure("round trip plain \(size) B", bytes: size, seconds: secondsPerCase) {
                var n = 0
                for packet in try pubPlain.packetizeEncoded(payload: payload, userTimestamp: 1) {
                    if let frame = try subPlain.push(encoded: packet).frame { n += frame.payload.count }
                }
                return n
            })
            var pubE2EE = try Packetizer(handle: 1)
            var subE2EE = Depacketizer()
            var sender = FrameCryptor(keys: keys)
            var receiver = FrameCryptor(keys: keys)
            rows.append(try measure("round trip e2ee \(size) B", bytes: size, seconds: secondsPerCase) {
                let (c, x) = try sender.encrypt(payload, participant: "bench")
                var n = 0
                for packet in try pubE2EE.packetizeEncoded(payload: c, userTimestamp: 1, e2ee: x) {
                    if let frame = try subE2EE.push(encoded: packet).frame {
                        n += try receiver.decrypt(frame, participant: "bench").payload.count
                    }
                }
                return n
            })
        }
        return rows
    }

    /// Lines for `trackbag-bench`.
    static func report(_ rows: [Row]) -> [String] {
        ["data tracks codec / E2EE (one thread, best of 3 rounds; frames/s and payload MB/s):"] + rows.map { row in
            let name = row.name + String(repeating: " ", count: max(0, 30 - row.name.count))
            return "  \(name) \(format(row.framesPerSecond, width: 12)) frames/s \(format(row.megabytesPerSecond, width: 10)) MB/s"
        }
    }

    private static func format(_ value: Double, width: Int) -> String {
        let text = String(Int(value.rounded()))
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }

    /// Runs `body` in batches for three rounds of `seconds / 3` each (at most 50 M calls per
    /// round) and keeps the best round: the build machine is shared, and the best round is the
    /// least disturbed one. The returned sizes are summed so the work cannot be optimised away.
    private static func measure(_ name: String, bytes: Int, seconds: Double,
                                _ body: () throws -> Int) throws -> Row {
        let clock = ContinuousClock()
        let budget = Duration.milliseconds(Int(seconds * 1000 / 3))
        for _ in 0..<100 { _ = try body() }  // warm up
        var best = 0.0
        var sink = 0
        for _ in 0..<3 {
            var calls = 0
            let start = clock.now
            var elapsed = Duration.zero
            while elapsed < budget && calls < 50_000_000 {
                for _ in 0..<64 { sink &+= try body() }
                calls += 64
                elapsed = clock.now - start
            }
            let secondsElapsed = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            best = max(best, Double(calls) / secondsElapsed)
        }
        return Row(name: name, framesPerSecond: best, megabytesPerSecond: best * Double(bytes) / 1e6, checksum: sink)
    }
}

extension DataTrackBench {
    /// `trackbag-bench datatracks` (part of `bench all`).
    static let cases: [BenchCase] = [
        BenchCase(name: "datatracks",
                  summary: "AES-128-GCM encrypt/decrypt and packetize/depacketize, 256 B and 16,000 B frames, E2EE beside plain",
                  run: { _ in for line in report(try run()) { print(line) } }),
    ]
}
