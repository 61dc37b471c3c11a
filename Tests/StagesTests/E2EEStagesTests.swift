import DataTracks
import XCTest
@testable import Pipeline
import Recording
@testable import Stages
import TrackModel
import Codecs

/// E2EE passthrough recordings in the pipeline: the stored form in JSON lines, the `decrypt`
/// transform, `decode` leaving ciphertext alone, and the `e2ee` options of the room stages.
/// Live, with LiveKit's SDK: Tests/interop/test_e2ee_record.py.
final class E2EEStagesTests: XCTestCase {
    let roomKey = "room key"

    /// Frames of an encrypted track as the room source stores them (SealedFrame stored form).
    func sealedFrames(_ plaintexts: [[UInt8]], key: String, identity: String = "robot") throws -> [Frame] {
        var cryptor = FrameCryptor(keys: try E2EEKeyProvider(sharedPassphrase: key))
        return try plaintexts.enumerated().map { i, plain in
            let (ciphertext, e2ee) = try cryptor.encrypt(plain, participant: identity)
            return Frame(track: TrackInfo(identity: identity, name: "imu", encryption: .gcm),
                         payload: SealedFrame(e2ee: e2ee, ciphertext: ciphertext).stored,
                         userTimestamp: UInt64(100 + i), receiveTimeNs: Int64(i))
        }
    }

    func testDecryptOpensWithTheKeyAndDropsWhatDoesNotOpen() async throws {
        let plain: [[UInt8]] = [[1, 2, 3], [], Array(repeating: 9, count: 20_000)]
        let frames = try sealedFrames(plain, key: roomKey)
        let plaintextTrack = frame("robot", "status", payload: [42], ts: 7)
        let stage = try Decrypt(config: .init(key: roomKey))
        let out = try await stage.process(Batch(frames: frames + [plaintextTrack]))
        XCTAssertEqual(out.frames.map(\.payload), plain + [[42]])
        XCTAssertEqual(out.frames.map(\.userTimestamp), [100, 101, 102, 7])
        XCTAssertTrue(out.frames.allSatisfy { $0.track.encryption == .none })
        XCTAssertTrue(out.events.isEmpty)

        // A wrong key: nothing passes as plaintext; counted, one drop event per track and reason.
        let wrong = try Decrypt(config: .init(key: "not the key"))
        var bad = frames
        bad.append(Frame(track: frames[0].track, payload: [1, 2], userTimestamp: nil, receiveTimeNs: 9))
        let dropped = try await wrong.process(Batch(frames: bad))
        XCTAssertEqual(dropped.frames, [])
        XCTAssertEqual(dropped.events.count, 2)
        XCTAssertTrue(dropped.events.allSatisfy { $0.kind == .drop && $0.track == "imu" })
        XCTAssertTrue(dropped.events[0].detail?.contains("authentication failed") == true, "\(dropped.events)")
        let stats = Dictionary(uniqueKeysWithValues: await wrong.statistics().map { ($0.name, $0.value) })
        XCTAssertEqual(stats["dropped_authentication_failed"], 3)
        XCTAssertEqual(stats["dropped_malformed"], 1)
        XCTAssertEqual(stats["frames_decrypted"], 0)
    }

    func testJSONLinesMarkCiphertextAndReadItBack() throws {
        let stored = try sealedFrames([[5, 6, 7]], key: roomKey)[0]
        let sealed = try SealedFrame(stored: stored.payload)
        let line = JSONLinesCodec.line(stored)
        XCTAssertTrue(line.contains(#""encryption":"gcm","key_index":0,"iv_b64":""#), line)
        XCTAssertTrue(line.contains(#""payload_b64":"\#(Base64.encode(sealed.ciphertext))""#), line)
        let read = try JSONLinesCodec.decode(Array(line.utf8.dropLast()))
        XCTAssertEqual(read.encryption, .gcm)
        XCTAssertEqual(read.payload, stored.payload)
        XCTAssertThrowsError(try JSONLinesCodec.decode(Array(#"{"identity":"r","track":"t","time_ns":1,"user_timestamp":null,"key_index":0,"payload_b64":""}"#.utf8)))
        XCTAssertThrowsError(try JSONLinesCodec.decode(Array(#"{"identity":"r","track":"t","time_ns":1,"user_timestamp":null,"encryption":"gcm","key_index":16,"iv_b64":"AAAAAAAAAAAAAAAA","payload_b64":""}"#.utf8)))
        // Plaintext lines stay as they were.
        XCTAssertFalse(JSONLinesCodec.line(frame(payload: [1])).contains("encryption"))
    }

    func testDecodeLeavesCiphertextAlone() async throws {
        var encrypted = try sealedFrames([Array(#"{"a":1}"#.utf8)], key: roomKey)[0]
        encrypted.track.frameEncoding = "json"
        let stage = Decode(config: .init(encoding: .json, onError: .drop))
        let out = try await stage.process(Batch(frames: [encrypted]))
        XCTAssertEqual(out.frames, [encrypted])
        let stats = Dictionary(uniqueKeysWithValues: await stage.statistics().map { ($0.name, $0.value) })
        XCTAssertEqual(stats["undecodable"], 0)
        XCTAssertEqual(stats["encrypted_passed"], 1)
    }

    func testE2EEOptionsAreCheckedWithPlace() throws {
        let config = try PipelineConfig.parse("""
            sources:
              lab: {type: room, room: lab, e2ee: {mode: decript}}
              lab2: {type: room, room: lab, e2ee: {mode: decrypt}}
            transforms:
              plain: {type: decrypt, inputs: [lab, lab2]}
            sinks:
              out: {type: republish, inputs: [plain], room: r, e2ee: {mode: passthrough}}
            """, file: "p.yaml")
        XCTAssertThrowsError(try config.compile(registry: BuiltinStages.all)) { error in
            let lines = (error as? PipelineError)?.allProblems.map(\.placedMessage) ?? []
            XCTAssertEqual(lines.count, 4, lines.joined(separator: "\n"))
            XCTAssertTrue(lines.contains { $0.contains("stage 'lab'") && $0.contains("e2ee.mode must be one of passthrough, decrypt") }, "\(lines)")
            XCTAssertTrue(lines.contains { $0.contains("stage 'lab2'") && $0.contains("needs e2ee.key") }, "\(lines)")
            XCTAssertTrue(lines.contains { $0.contains("stage 'plain'") && $0.contains("exactly one of key or key_env") }, "\(lines)")
            XCTAssertTrue(lines.contains { $0.contains("stage 'out'") && $0.contains("room source option") }, "\(lines)")
        }
        // Defaults: no key means passthrough; a key means decrypt.
        let none = try RoomSource(config: .init(room: "lab"))
        XCTAssertEqual(none.e2ee.mode, .passthrough)
        XCTAssertNil(none.e2ee.keys)
        let keyed = try RoomSource(config: .init(room: "lab", e2ee: .init(keyEnv: "ROOM_KEY")), environment: ["ROOM_KEY": roomKey])
        XCTAssertEqual(keyed.e2ee.mode, .decrypt)
        XCTAssertEqual(keyed.e2ee.keys, try E2EEKeyProvider(sharedPassphrase: roomKey))
    }
}
