import DataTracks
import Pipeline
import Recording
import TrackModel

/// Turns E2EE ciphertext recorded in passthrough mode (`SealedFrame`s on tracks marked `gcm`)
/// back into the publisher's plaintext, with the room's shared key, as a subscriber holding the
/// key would have received it. Plaintext tracks pass untouched. A frame that does not open
/// (wrong key, unknown key index, altered or malformed) is never passed on as if it were
/// plaintext: it is dropped and counted per reason, and the first of each reason per track is
/// reported as a `drop` event.
public actor Decrypt: TransformStage, StageStatistics {
    public let config: Config
    let keys: E2EEKeyProvider
    private(set) var decrypted: UInt64 = 0
    private(set) var drops = Drops()
    private var reported: Set<String> = []

    public struct Drops: Sendable, Hashable {
        public var authenticationFailed: UInt64 = 0
        public var unknownKeyIndex: UInt64 = 0
        public var malformed: UInt64 = 0
        public var total: UInt64 { authenticationFailed + unknownKeyIndex + malformed }
    }

    public init(config: Config, environment: [String: String] = [:], stage: String = "decrypt", file: String? = nil) throws {
        self.config = config
        let settings = E2EESettings(mode: .decrypt, key: config.key, keyEnv: config.keyEnv)
        guard let keys = try settings.resolve(environment: environment, stage: stage, file: file).keys else {
            throw PipelineError(message: "decrypt needs key or key_env", file: file, stage: stage)
        }
        self.keys = keys
    }

    public func process(_ batch: consuming Batch) async throws -> Batch {
        var out = Batch(frames: [], events: batch.events)
        out.frames.reserveCapacity(batch.frames.count)
        for var frame in batch.frames {
            guard frame.track.encryption == .gcm else {
                out.frames.append(frame)
                continue
            }
            let reason: String
            do {
                let sealed = try SealedFrame(stored: frame.payload)
                frame.payload = try sealed.open(with: keys, participant: frame.track.identity)
                frame.track.encryption = .none
                decrypted += 1
                out.frames.append(frame)
                continue
            } catch .unknownKeyIndex(let index, _) {
                drops.unknownKeyIndex += 1
                reason = "no key at key index \(index)"
            } catch .authenticationFailed, .ciphertextTooShort {
                drops.authenticationFailed += 1
                reason = "authentication failed (wrong key, or the frame was altered)"
            } catch {
                drops.malformed += 1
                reason = "not a sealed E2EE frame (\(error))"
            }
            let key = frame.track.key
            if reported.insert("\(key)\u{0}\(reason)").inserted {
                out.events.append(SessionEvent(timeNs: frame.receiveTimeNs, kind: .drop, identity: key.identity, track: key.name,
                                               count: 1, detail: "decrypt: \(reason); such frames are dropped and counted"))
            }
        }
        return out
    }

    public func statistics() async -> [(name: String, value: UInt64)] {
        [("frames_decrypted", decrypted), ("dropped_authentication_failed", drops.authenticationFailed),
         ("dropped_unknown_key_index", drops.unknownKeyIndex), ("dropped_malformed", drops.malformed)]
    }
}
