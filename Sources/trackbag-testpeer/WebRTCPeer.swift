import ArgumentParser
import Foundation
import Synchronization
import WebRTCData

/// `trackbag webrtc-peer` (hidden): one WebRTCData peer driven over stdin/stdout JSON lines, for
/// the interop tests against aiortc and for the data-channel benchmark. Not a user command.
///
/// Signaling: it prints `{"type":"offer"|"answer","sdp":…}` and reads the other one. Then, in
/// `interop` mode, it opens `swift-reliable`, `swift-lossy` (unordered, maxRetransmits 0) and
/// `swift-timed` (maxPacketLifeTime 3 s),
/// sends `--sizes` on each and checks the peer echoes them; echoes whatever arrives on channels
/// the peer opened; closes `swift-reliable`; reports each step as a JSON line; exits on
/// `{"type":"close"}`. In `bench-local` mode it runs two peers in-process (Swift ↔ Swift) and
/// prints figures; in `bench` mode it is the Swift side of a Swift ↔ aiortc benchmark.
struct WebRTCPeer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "webrtc-peer", abstract: "WebRTCData test peer",
                                                    )

    @Option(help: "offer or answer") var role: String = "offer"
    @Option(help: "interop, bench (Swift side vs another peer) or bench-local (Swift ↔ Swift in-process)")
    var mode: String = "interop"
    @Option(help: "address to bind (repeatable)") var address: [String] = []
    @Option(help: "second peer's address for bench-local") var peerAddress: String?
    @Flag(help: "answer as an ICE-lite agent") var lite = false
    @Option(help: "a=setup when answering an actpass offer: active or passive") var setup: String = "active"
    @Option(help: "message sizes for interop, comma-separated") var sizes: String = "1,2,100,1000,1200,16000,65535,65536"
    @Option(help: "bench: bytes to send per throughput run") var benchBytes: Int = 64_000_000
    @Option(help: "bench: round trips for RTT") var roundTrips: Int = 2000

    func run() async throws {
        switch mode {
        case "bench-local":
            try await runLocalBench()
        default:
            try await runPeer()
        }
    }

    private func configuration(_ addresses: [String]) throws -> PeerConnection.Configuration {
        let bound = try addresses.map { text -> TransportAddress in
            guard let ip = IPAddress(text) else { throw ValidationError("bad --address \(text)") }
            return TransportAddress(ip: ip, port: 0)
        }
        guard !bound.isEmpty else { throw ValidationError("give at least one --address") }
        return PeerConnection.Configuration(addresses: bound, iceLite: lite,
                                            preferredSetup: setup == "passive" ? .passive : .active)
    }

    // MARK: - One peer against another process

    private func runPeer() async throws {
        let lines = StandardInputLines()
        let pc = try PeerConnection(try configuration(address))
        var ownChannels: [DataChannel] = []
        if mode == "interop", role == "offer" {
            // Created before negotiation: opened once SCTP is up.
            ownChannels = try await openOwnChannels(pc)
        }
        if role == "offer" {
            emit(["type": "offer", "sdp": try await pc.createOffer()])
            let answer = try await lines.nextJSON()
            try await pc.setRemoteDescription(answer["sdp"] as? String ?? "")
        } else {
            let offer = try await lines.nextJSON()
            try await pc.setRemoteDescription(offer["sdp"] as? String ?? "")
            emit(["type": "answer", "sdp": try await pc.createAnswer()])
        }
        try await waitConnected(pc)
        emit(["type": "state", "state": "connected"])

        if mode == "bench" {
            try await benchAgainstPeer(pc, lines: lines)
            return
        }
        // Echo on every channel the peer opens; report its close.
        let echoes = Task {
            await withTaskGroup(of: Void.self) { group in
                for await channel in pc.incomingDataChannels {
                    emit(["type": "channel", "label": channel.label, "ordered": channel.ordered,
                          "maxRetransmits": channel.maxRetransmits.map { Int($0) } ?? -1, "id": Int(channel.id ?? 0),
                          "protocol": channel.protocol])
                    group.addTask {
                        var count = 0
                        for await message in channel.messages {
                            count += 1
                            switch message {
                            case .text(let text): try? await channel.send(text)
                            case .binary(let bytes): try? await channel.send(bytes)
                            }
                        }
                        emit(["type": "closed", "label": channel.label, "echoed": count])
                    }
                }
            }
        }
        if role != "offer" { ownChannels = try await openOwnChannels(pc) }
        let sizes = self.sizes.split(separator: ",").compactMap { Int($0) }
        for channel in ownChannels {
            try await channel.opened()
            emit(["type": "open", "label": channel.label, "id": Int(channel.id ?? 0)])
        }
        await withTaskGroup(of: Void.self) { group in
            for channel in ownChannels {
                group.addTask { await self.sendAndVerify(channel, sizes: sizes) }
            }
        }
        // Close our reliable channel; the peer's reset answer closes it here.
        if let reliable = ownChannels.first {
            await reliable.close()
            for await _ in reliable.messages {}
            emit(["type": "closed", "label": reliable.label, "state": "\(reliable.state)"])
        }
        emit(["type": "done"])
        while let line = try? await lines.nextJSON() {
            if line["type"] as? String == "close" { break }
        }
        echoes.cancel()
        await pc.close()
        emit(["type": "bye"])
    }

    private func openOwnChannels(_ pc: PeerConnection) async throws -> [DataChannel] {
        [try await pc.createDataChannel("swift-reliable", protocol: "tb"),
         try await pc.createDataChannel("swift-lossy", ordered: false, maxRetransmits: 0),
         try await pc.createDataChannel("swift-timed", maxPacketLifeTime: 3000)]
    }

    /// Sends each size (a byte pattern that names the size and channel) and a text message,
    /// then checks the peer echoed exactly those, in order on an ordered channel.
    private func sendAndVerify(_ channel: DataChannel, sizes: [Int]) async {
        var expected: [DataChannelMessage] = sizes.map { .binary(pattern($0, seed: channel.label.count)) }
        expected.append(.text("hello from swift: \(channel.label)"))
        do {
            for message in expected {
                switch message {
                case .text(let text): try await channel.send(text)
                case .binary(let bytes): try await channel.send(bytes)
                }
            }
        } catch {
            emit(["type": "verified", "label": channel.label, "ok": false, "error": "\(error)"])
            return
        }
        var received: [DataChannelMessage] = []
        let deadline = ContinuousClock.now + .seconds(20)
        var iterator = channel.messages.makeAsyncIterator()
        while received.count < expected.count, ContinuousClock.now < deadline, let message = await iterator.next() {
            received.append(message)
        }
        let ok = channel.ordered ? received == expected
            : received.map(\.bytes).sorted { $0.lexicographicallyPrecedes($1) } == expected.map(\.bytes).sorted { $0.lexicographicallyPrecedes($1) }
        emit(["type": "verified", "label": channel.label, "ok": ok, "count": received.count, "expected": expected.count])
    }

    private func waitConnected(_ pc: PeerConnection) async throws {
        for await state in pc.connectionStates {
            if state == .connected { return }
            if state == .failed || state == .closed { throw ValidationError("connection \(state)") }
        }
        throw ValidationError("connection ended before connecting")
    }

    // MARK: - Benchmarks

    /// Swift ↔ Swift in one process: offerer on --address, answerer on --peer-address.
    private func runLocalBench() async throws {
        guard let peerAddress else { throw ValidationError("bench-local needs --peer-address") }
        let a = try PeerConnection(try configuration(address))
        let b = try PeerConnection(try configuration([peerAddress]))
        let offer = try await a.createOffer()
        try await b.setRemoteDescription(offer)
        try await a.setRemoteDescription(try await b.createAnswer())
        try await waitConnected(a)
        try await waitConnected(b)
        var incoming = b.incomingDataChannels.makeAsyncIterator()
        var results: [[String: Any]] = []
        for (label, ordered, retransmits) in [("lossy", false, UInt32?.some(0)), ("reliable", true, nil)] {
            let channel = try await a.createDataChannel(label, ordered: ordered, maxRetransmits: retransmits)
            try await channel.opened()
            guard let remote = await incoming.next() else { throw ValidationError("no incoming channel") }
            results.append(try await DataChannelBench.throughput(sender: channel, receiver: remote, totalBytes: benchBytes))
        }
        let ping = try await a.createDataChannel("rtt")
        try await ping.opened()
        guard let pong = await incoming.next() else { throw ValidationError("no incoming channel") }
        let echo = Task { for await message in pong.messages { try? await pong.send(message.bytes) } }
        results.append(try await DataChannelBench.roundTrips(ping, count: roundTrips))
        echo.cancel()
        let mixed = try await a.createDataChannel("mixed", ordered: false, maxRetransmits: 0)
        try await mixed.opened()
        guard let mixedRemote = await incoming.next() else { throw ValidationError("no incoming channel") }
        results.append(try await DataChannelBench.mixed(sender: mixed, receiver: mixedRemote))
        emit(["type": "bench", "pair": "swift-swift", "results": results])
        await a.close()
        await b.close()
    }

    /// Swift side of Swift ↔ other: echoes on the peer's "rtt" channel, sinks and reports what
    /// arrives on "lossy"/"reliable", then (on request) sends the same runs itself.
    private func benchAgainstPeer(_ pc: PeerConnection, lines: StandardInputLines) async throws {
        var results: [[String: Any]] = []
        for (label, ordered, retransmits) in [("lossy", false, UInt32?.some(0)), ("reliable", true, nil)] {
            let channel = try await pc.createDataChannel(label, ordered: ordered, maxRetransmits: retransmits)
            try await channel.opened()
            results.append(try await DataChannelBench.throughputToEcho(sender: channel, totalBytes: benchBytes))
        }
        let ping = try await pc.createDataChannel("rtt")
        try await ping.opened()
        results.append(try await DataChannelBench.roundTrips(ping, count: roundTrips))
        emit(["type": "bench", "pair": "swift-aiortc", "results": results])
        while let line = try? await lines.nextJSON() {
            if line["type"] as? String == "close" { break }
        }
        await pc.close()
    }
}

/// Measurements printed by the benchmark (never asserted).
enum DataChannelBench {
    static let messageSize = 16_000

    /// Sends `totalBytes` in 16,000-byte messages as fast as the buffered amount allows, and
    /// measures what the receiver got and when the last message arrived.
    static func throughput(sender: DataChannel, receiver: DataChannel, totalBytes: Int) async throws -> [String: Any] {
        let count = max(1, totalBytes / messageSize)
        let cpuBefore = processCPUSeconds()
        let start = ContinuousClock.now
        let progress = Atomic<Int>(0)
        let counter = Task { () -> (Int, Duration) in
            var received = 0
            var last = ContinuousClock.now
            for await _ in receiver.messages {
                received += 1
                last = ContinuousClock.now
                progress.store(received, ordering: .relaxed)
                if received == count { break }
            }
            return (received, last - start)
        }
        try await send(count: count, on: sender)
        // A lossy channel may drop messages: stop waiting once nothing arrived for two seconds.
        var seen = -1
        var quietSince = ContinuousClock.now
        while progress.load(ordering: .relaxed) < count {
            let now = progress.load(ordering: .relaxed)
            if now != seen {
                seen = now
                quietSince = .now
            } else if ContinuousClock.now - quietSince > .seconds(2) {
                counter.cancel()
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let (received, elapsed) = await counter.value
        let cpu = processCPUSeconds() - cpuBefore
        return report(sender.label, sent: count, received: received, elapsed: elapsed, cpu: cpu)
    }

    /// Throughput to a peer that reports, on the same channel, how many messages it got (as text
    /// "count:<n>") once it has them all or went quiet for a second.
    static func throughputToEcho(sender: DataChannel, totalBytes: Int) async throws -> [String: Any] {
        let count = max(1, totalBytes / messageSize)
        let cpuBefore = processCPUSeconds()
        let start = ContinuousClock.now
        try await sender.send("start:\(count)")
        try await send(count: count, on: sender)
        var received = 0
        var iterator = sender.messages.makeAsyncIterator()
        if case .text(let text)? = await iterator.next(), text.hasPrefix("count:") {
            received = Int(text.dropFirst(6)) ?? 0
        }
        let elapsed = ContinuousClock.now - start
        return report(sender.label, sent: count, received: received, elapsed: elapsed, cpu: processCPUSeconds() - cpuBefore)
    }

    private static func send(count: Int, on channel: DataChannel) async throws {
        let payload = [UInt8](repeating: 0x5A, count: messageSize)
        channel.bufferedAmountLowThreshold = 1 << 20
        for _ in 0 ..< count {
            if channel.bufferedAmount > 4 << 20 { await channel.bufferedAmountLow() }
            try await channel.send(payload)
        }
    }

    private static func report(_ label: String, sent: Int, received: Int, elapsed: Duration, cpu: Double) -> [String: Any] {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let megabytes = Double(received * messageSize) / 1e6
        return ["run": "throughput-\(label)", "sent": sent, "received": received, "seconds": seconds,
                "MBps": megabytes / max(seconds, 1e-9), "cpuSecondsPerMB": cpu / max(megabytes, 1e-9)]
    }

    /// A robot's mix on one unordered `maxRetransmits: 0` channel, as data tracks use it: a
    /// 48-byte message every millisecond and, every 100 ms, a 40,000-byte frame cut into three
    /// 13,334-byte messages. Reports the one-way delay of the small messages (same process, same
    /// clock) so a head-of-line stall behind the large ones shows, and the large frames' delay.
    static func mixed(sender: DataChannel, receiver: DataChannel, seconds: Int = 3) async throws -> [String: Any] {
        let origin = ContinuousClock.now
        func stamp() -> UInt64 {
            let elapsed = ContinuousClock.now - origin
            return UInt64(elapsed.components.seconds) * 1_000_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000)
        }
        let total = seconds * 1000
        let collector = Task { () -> ([Double], [Double], Int) in
            var small: [Double] = [], large: [Double] = []
            var received = 0
            for await message in receiver.messages {
                let bytes = message.bytes
                guard bytes.count >= 9 else { continue }
                var sent: UInt64 = 0
                for i in 1 ..< 9 { sent = sent << 8 | UInt64(bytes[i]) }
                let delayMs = Double(stamp() &- sent) / 1e6
                if bytes[0] == 0 { small.append(delayMs) } else if bytes[0] == 3 { large.append(delayMs) }
                received += 1
                if bytes[0] == 0xFF { break }
            }
            return (small, large, received)
        }
        func message(_ kind: UInt8, _ size: Int) -> [UInt8] {
            var bytes = [UInt8](repeating: 0x33, count: size)
            bytes[0] = kind
            let now = stamp()
            for i in 0 ..< 8 { bytes[1 + i] = UInt8(truncatingIfNeeded: now >> (56 - 8 * UInt64(i))) }
            return bytes
        }
        let start = ContinuousClock.now
        for tick in 0 ..< total {
            try await Task.sleep(until: start + .milliseconds(tick), clock: .continuous)
            if tick % 100 == 50 {
                for part in 1 ... 3 { try await sender.send(message(UInt8(part), 13_334)) }
            }
            try await sender.send(message(0, 48))
        }
        try await Task.sleep(for: .milliseconds(200))
        try await sender.send(message(0xFF, 48))
        let timeout = Task { try await Task.sleep(for: .seconds(2)); collector.cancel() }
        let (small, large, _) = await collector.value
        timeout.cancel()
        func percentile(_ values: [Double], _ p: Double) -> Double {
            let sorted = values.sorted()
            return sorted.isEmpty ? -1 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        return ["run": "mixed-1kHz48B+10Hz40KB", "small_sent": total, "small_received": small.count,
                "small_p50ms": percentile(small, 0.5), "small_p99ms": percentile(small, 0.99), "small_maxms": percentile(small, 1),
                "large_received": large.count, "large_p50ms": percentile(large, 0.5), "large_p99ms": percentile(large, 0.99)]
    }

    /// 256-byte ping-pong: the peer echoes each message.
    static func roundTrips(_ channel: DataChannel, count: Int) async throws -> [String: Any] {
        let payload = [UInt8](repeating: 0x42, count: 256)
        var samples: [Double] = []
        samples.reserveCapacity(count)
        var iterator = channel.messages.makeAsyncIterator()
        for _ in 0 ..< count {
            let start = ContinuousClock.now
            try await channel.send(payload)
            guard await iterator.next() != nil else { break }
            let elapsed = ContinuousClock.now - start
            samples.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3)
        }
        samples.sort()
        func percentile(_ p: Double) -> Double {
            samples.isEmpty ? -1 : samples[min(samples.count - 1, Int(Double(samples.count) * p))]
        }
        return ["run": "rtt-256B", "count": samples.count, "p50ms": percentile(0.5), "p99ms": percentile(0.99)]
    }

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }
}

private func pattern(_ size: Int, seed: Int) -> [UInt8] {
    (0 ..< size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ seed &+ size) }
}

/// One JSON object per line on stdout.
private func emit(_ object: [String: Any]) {
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}
