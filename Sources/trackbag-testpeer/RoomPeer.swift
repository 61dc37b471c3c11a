import ArgumentParser
import DataTracks
import Foundation
import RoomClient
import WebRTCData
import Synchronization

/// `trackbag room-peer` (hidden): one `RoomClient.Room` driven by JSON-line commands on stdin,
/// printing what happens as JSON lines on stdout, for the live tests against the embedded server
/// and LiveKit's SDK (`Tests/interop/test_room_client.py`). Not a user command.
///
/// Commands: `{"cmd":"publish","track":T}`, `{"cmd":"push","track":T,"payload_b64":…,
/// "user_timestamp":N|null}` (retries while the queue is full), `{"cmd":"stream","track":T |
/// "tracks":[T…],"rate":R,"size":B,"count":N,"fill":"random","background":true,"tag":X}` (paced
/// pushes, round-robin over the tracks; the payload after the sequence number is 0xA5 bytes, or
/// bytes that do not compress with "random", as sensor samples do; in the background beside
/// later commands if asked),
/// `{"cmd":"unpublish","track":T}`,
/// `{"cmd":"subscribe","identity":I,"track":T,"buffer":16,"timeout":30}`, `{"cmd":"stats"}`,
/// `{"cmd":"register","method":M,"mode":"echo|fail|big|slow","delay_ms":N}`,
/// `{"cmd":"rpc","destination":I,"method":M,"payload":P,"timeout_ms":N,"max_round_trip_ms":N,"tag":T}`,
/// `{"cmd":"quit"}`. Output: `{"event":…}` lines (connected, participant_connected,
/// track_published, frame, stream_end, reconnecting, reconnected, …) and `{"reply":cmd,…}`.
struct RoomPeer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "room-peer", abstract: "Room client test peer",
                                                    )

    @Option(help: "server URL, e.g. ws://10.99.0.1:7880") var url: String
    @Option(help: "access token") var token: String
    @Flag(help: "go straight to /rtc (two peer connections)") var dualPc = false
    @Option(help: "E2EE shared key (its UTF-8 bytes, as the SDK's shared_key)") var e2eeKey: String?
    @Option(help: "local address for ICE (repeatable)") var address: [String] = []
    @Option(help: "seconds to wait per connect step") var timeout: Int = 15

    func run() async throws {
        let out = JSONLines()
        let room = Room()
        let events = room.events()
        let eventTask = Task {
            for await event in events { out.emit(Self.describe(event)) }
        }
        var options = RoomOptions(singlePeerConnection: !dualPc, timeout: .seconds(timeout))
        if let e2eeKey {
            options.e2ee = E2EEOptions(keyProvider: try E2EEKeyProvider(sharedKey: Array(e2eeKey.utf8)))
        }
        if !address.isEmpty {
            options.addresses = try address.map { text in
                guard let ip = IPAddress(text) else { throw ValidationError("bad --address \(text)") }
                return ip
            }
        }
        do {
            try await room.connect(url: url, token: token, options: options)
        } catch {
            out.emit(["event": "connect_failed", "error": "\(error)"])
            throw ExitCode(3)
        }
        let single = await room.usesSinglePeerConnection
        out.emit(["event": "joined", "identity": await room.identity, "room": await room.name, "single_pc": single])

        var tracks: [String: LocalDataTrack] = [:]
        let readers = Mutex<[Task<Void, Never>]>([])
        for await line in StandardInputLines().lines {
            guard let command = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let name = command["cmd"] as? String else {
                out.emit(["reply": "error", "error": "bad command line"])
                continue
            }
            let track = command["track"] as? String ?? ""
            switch name {
            case "publish":
                do {
                    let published = try await room.localParticipant.publishDataTrack(name: track)
                    tracks[track] = published
                    out.emit(["reply": "publish", "ok": true, "track": track, "handle": Int(published.handle),
                              "sid": published.trackSid])
                } catch {
                    out.emit(["reply": "publish", "ok": false, "track": track, "error": "\(error)"])
                }
            case "push":
                guard let local = tracks[track] else {
                    out.emit(["reply": "push", "ok": false, "error": "unknown track"])
                    continue
                }
                let payload = (command["payload_b64"] as? String).flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) } ?? []
                let stamp = (command["user_timestamp"] as? NSNumber).map { $0.uint64Value }
                let frame = DataTrackFrame(payload: payload, userTimestamp: stamp)
                var result = "ok"
                for _ in 0..<5000 {
                    do {
                        try local.tryPush(frame)
                        result = "ok"
                        break
                    } catch .dropped {
                        result = "dropped"
                        try? await Task.sleep(for: .milliseconds(1))
                    } catch {
                        result = "unpublished"
                        break
                    }
                }
                if command["quiet"] as? Bool != true || result != "ok" {
                    out.emit(["reply": "push", "ok": result == "ok", "result": result])
                }
            case "stream":
                // Paced pushes for latency and throughput figures (`Self.stream`). With
                // "background": true it runs beside later commands (two streams at different
                // rates share the connection, as a robot's tracks do); quit ends it.
                let names = command["tracks"] as? [String] ?? [track]
                let locals = names.compactMap { tracks[$0] }
                guard !locals.isEmpty, locals.count == names.count else {
                    out.emit(["reply": "stream", "ok": false, "error": "unknown track"])
                    continue
                }
                let rate = max(1, command["rate"] as? Int ?? 1000)
                let size = max(8, command["size"] as? Int ?? 256)
                let count = command["count"] as? Int ?? rate
                let random = command["fill"] as? String == "random"
                let tag = command["tag"] as? String ?? ""
                if command["background"] as? Bool == true {
                    let task = Task { await Self.stream(locals, rate: rate, size: size, count: count, random: random, tag: tag, out: out) }
                    readers.withLock { $0.append(task) }
                } else {
                    await Self.stream(locals, rate: rate, size: size, count: count, random: random, tag: tag, out: out)
                }
            case "unpublish":
                await tracks.removeValue(forKey: track)?.unpublish()
                out.emit(["reply": "unpublish", "track": track])
            case "subscribe":
                let identity = command["identity"] as? String ?? ""
                let buffer = command["buffer"] as? Int ?? 16
                let wait = command["timeout"] as? Int ?? 30
                let timingOnly = command["timing_only"] as? Bool ?? false
                do {
                    let remote = try await room.waitForDataTrack(identity: identity, name: track, timeout: .seconds(wait))
                    let subscription = try await remote.subscribe(bufferSize: buffer)
                    let id = readers.withLock { $0.count }
                    let reader = Task {
                        var count = 0
                        for await frame in subscription {
                            count += 1
                            let recv = UInt64(Date().timeIntervalSince1970 * 1e9)
                            if timingOnly {
                                out.emit(["event": "timing", "sub": id, "size": frame.payload.count, "recv_ns": NSNumber(value: recv),
                                          "user_timestamp": frame.userTimestamp.map { NSNumber(value: $0) } ?? NSNull()])
                                continue
                            }
                            out.emit(["event": "frame", "sub": id, "identity": identity, "track": track,
                                      "size": frame.payload.count, "payload_b64": Data(frame.payload).base64EncodedString(),
                                      "user_timestamp": frame.userTimestamp.map { NSNumber(value: $0) } ?? NSNull(),
                                      "recv_ns": NSNumber(value: UInt64(Date().timeIntervalSince1970 * 1e9))])
                        }
                        out.emit(["event": "stream_end", "sub": id, "frames": count, "dropped": subscription.droppedFrames])
                    }
                    readers.withLock { $0.append(reader) }
                    out.emit(["reply": "subscribe", "ok": true, "sub": id, "sid": remote.sid])
                } catch {
                    out.emit(["reply": "subscribe", "ok": false, "error": "\(error)"])
                }
            case "register":
                // RPC handlers: `echo` answers "CALLER:reversed payload", `fail` throws
                // RpcError(2001, "refused on purpose", "detail"), `big` answers 16 KiB, `slow`
                // answers after `delay_ms`. Every invocation is reported.
                let method = command["method"] as? String ?? ""
                let mode = command["mode"] as? String ?? method
                let delay = command["delay_ms"] as? Int ?? 0
                await room.localParticipant.registerRpcMethod(method) { invocation in
                    out.emit(["event": "invoked", "method": invocation.method, "caller": invocation.callerIdentity,
                              "request_id": invocation.requestID, "payload": invocation.payload,
                              "response_timeout_ms": Int(invocation.responseTimeout.components.seconds * 1000)
                                  + Int(invocation.responseTimeout.components.attoseconds / 1_000_000_000_000_000)])
                    switch mode {
                    case "fail": throw RpcError(code: 2001, message: "refused on purpose", data: "detail")
                    case "big": return String(repeating: "b", count: 16 * 1024)
                    case "slow":
                        try? await Task.sleep(for: .milliseconds(delay))
                        return "slept"
                    case "crash": throw CancellationError()
                    default: return invocation.callerIdentity + ":" + String(invocation.payload.reversed())
                    }
                }
                out.emit(["reply": "register", "method": method])
            case "rpc":
                // One call, reported with its outcome and how long it took; runs beside other
                // commands, so `tag` tells the replies apart.
                let destination = command["destination"] as? String ?? ""
                let method = command["method"] as? String ?? ""
                let payload = command["payload"] as? String
                    ?? String(repeating: "p", count: command["payload_size"] as? Int ?? 0)
                let timeout = command["timeout_ms"] as? Int ?? 10_000
                let roundTrip = command["max_round_trip_ms"] as? Int ?? 7_000
                let tag = command["tag"] as? String ?? method
                let participant = room.localParticipant
                let call = Task {
                    let started = ContinuousClock.now
                    var reply: [String: Any] = ["reply": "rpc", "tag": tag]
                    do {
                        reply["payload"] = try await participant.performRpc(
                            destinationIdentity: destination, method: method, payload: payload,
                            responseTimeout: .milliseconds(timeout), maxRoundTripLatency: .milliseconds(roundTrip))
                        reply["ok"] = true
                    } catch let error as RpcError {
                        reply["ok"] = false
                        reply["error"] = [error.code, error.message, error.data] as [Any]
                    } catch {
                        reply["ok"] = false
                        reply["error"] = [0, "\(error)", ""] as [Any]
                    }
                    let elapsed = ContinuousClock.now - started
                    reply["ms"] = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
                    out.emit(reply)
                }
                readers.withLock { $0.append(call) }
            case "stats":
                let stats = await room.currentStatistics
                out.emit(["reply": "stats", "frames_sent": stats.framesSent, "frames_not_sent": stats.framesNotSent,
                          "frames_received": stats.framesReceived, "decrypt_failures": stats.decryptFailures,
                          "e2ee_drops": ["authentication_failed": stats.e2eeDrops.authenticationFailed,
                                         "unknown_key_index": stats.e2eeDrops.unknownKeyIndex,
                                         "missing_extension": stats.e2eeDrops.missingExtension,
                                         "no_key_provider": stats.e2eeDrops.noKeyProvider,
                                         "plaintext_refused": stats.e2eeDrops.plaintextRefused],
                          "depacketizer_drops": stats.depacketizerDrops, "buffer_drops": stats.subscriberBufferDrops,
                          "unknown_handle_packets": stats.unknownHandlePackets, "reconnects": stats.reconnects,
                          "malformed_data_packets": stats.malformedDataPackets, "ignored_data_packets": stats.ignoredDataPackets,
                          "data_packets_not_sent": stats.dataPacketsNotSent, "unmatched_rpc_packets": stats.unmatchedRpcPackets,
                          "remote": (await room.remoteParticipants).mapValues { Array($0.dataTracks.keys).sorted() }])
            case "quit":
                await room.disconnect()
                for reader in readers.withLock({ $0 }) { reader.cancel() }
                eventTask.cancel()
                out.emit(["reply": "quit"])
                return
            default:
                out.emit(["reply": "error", "error": "unknown command \(name)"])
            }
        }
        await room.disconnect()
    }

    /// `count` pushes at `rate` frames/s on absolute deadlines, round-robin over `locals`: user
    /// timestamp = Unix ns at push, an 8-byte sequence number leading a `size`-byte payload
    /// (0xA5 filler, or bytes that do not compress when `random`, as sensor samples do).
    fileprivate static func stream(_ locals: [LocalDataTrack], rate: Int, size: Int, count: Int, random: Bool, tag: String,
                       out: JSONLines) async {
        var dropped = 0
        var refused = 0
        let clock = ContinuousClock()
        let start = clock.now
        var filler = [UInt8](repeating: 0xA5, count: size - 8)
        // xorshift64 (Marsaglia 2003): cheap, so the pacing is not what it measures.
        var state: UInt64? = random ? 0x9E37_79B9_7F4A_7C15 : nil
        for index in 0..<count {
            if Task.isCancelled { break }
            // Behind schedule (many frames per scheduler tick at high rates): push at once.
            let deadline = start + .nanoseconds(Int64(index) * 1_000_000_000 / Int64(rate))
            if deadline > clock.now { try? await clock.sleep(until: deadline, tolerance: .microseconds(100)) }
            let sequence = index / locals.count
            if var x = state {
                for k in stride(from: 0, to: filler.count, by: 8) {
                    x ^= x << 13; x ^= x >> 7; x ^= x << 17
                    withUnsafeBytes(of: x) { bytes in
                        for j in 0..<min(8, filler.count - k) { filler[k + j] = bytes[j] }
                    }
                }
                state = x
            }
            let payload = withUnsafeBytes(of: UInt64(sequence).bigEndian) { Array($0) } + filler
            let now = UInt64(Date().timeIntervalSince1970 * 1e9)
            do {
                try locals[index % locals.count].tryPush(DataTrackFrame(payload: payload, userTimestamp: now))
            } catch .dropped {
                dropped += 1
            } catch {
                refused += 1
            }
        }
        let elapsed = clock.now - start
        var reply: [String: Any] = ["reply": "stream", "ok": true, "sent": count - dropped - refused, "dropped": dropped,
                                    "seconds": Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)]
        if !tag.isEmpty { reply["tag"] = tag }
        out.emit(reply)
    }

    static func describe(_ event: RoomEvent) -> [String: Any] {
        switch event {
        case .connected: ["event": "connected"]
        case .participantConnected(let p): ["event": "participant_connected", "identity": p.identity]
        case .participantDisconnected(let p): ["event": "participant_disconnected", "identity": p.identity]
        case .dataTrackPublished(let t):
            ["event": "track_published", "identity": t.publisherIdentity, "track": t.name, "sid": t.sid,
             "handle": Int(t.info.handle), "encrypted": t.info.encrypted]
        case .dataTrackUnpublished(let t):
            ["event": "track_unpublished", "identity": t.publisherIdentity, "track": t.name, "sid": t.sid]
        case .reconnecting(let reason): ["event": "reconnecting", "reason": reason]
        case .localDataTrackSubscribed(let t): ["event": "local_track_subscribed", "track": t.name, "sid": t.trackSid]
        case .reconnected: ["event": "reconnected"]
        case .disconnected(let reason): ["event": "disconnected", "reason": reason]
        }
    }
}

/// JSON lines on stdout, one writer at a time.
private final class JSONLines: Sendable {
    private let lock = Mutex(())

    func emit(_ object: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        lock.withLock { _ in FileHandle.standardOutput.write(data + Data("\n".utf8)) }
    }
}
