import Pipeline
import Recording
import TrackModel

extension RepublishSink {
    /// Options of a `type: republish` sink.
    ///
    /// ```yaml
    /// sinks:
    ///   replay:
    ///     type: republish
    ///     inputs: [file]
    ///     url: ws://127.0.0.1:7880
    ///     room: replay
    ///     identity_prefix: "replay-"   # robot → replay-robot; or single: replayer
    ///     publish: eager               # or first_frame (default)
    ///     push_timeout: 100ms
    ///     e2ee: {key: …}               # optional: publish plaintext tracks encrypted too
    ///     latch_late_joiners: ["*/map"]  # a new subscriber gets the last frame at once
    /// ```
    ///
    /// Tracks recorded encrypted (E2EE passthrough) always go out as the same ciphertext, on
    /// tracks published with `encryption: GCM`; no key is needed for that.
    public struct Config: Decodable, Sendable, Hashable {
        public enum Publish: String, Decodable, Sendable, Hashable {
            /// A track is published when its first frame arrives.
            case firstFrame = "first_frame"
            /// Tracks are published when their recorded `publish` event arrives (the recording
            /// source sends those before the first frame), or up front through `prepare`.
            case eager
        }

        /// Server URL. Default `ws://127.0.0.1:7880`.
        public var url: String
        /// The room to publish into.
        public var room: String
        /// Prepended to each recorded publisher identity (default one participant per identity).
        public var identityPrefix: String
        /// Appended to each recorded publisher identity.
        public var identitySuffix: String
        /// Publish every track from this one participant instead.
        public var single: String?
        public var apiKey: String?
        public var apiSecret: String?
        /// A ready token: every track is then published by the token's one participant.
        public var token: String?
        public var tokenEnv: String?
        public var publish: Publish
        /// How long a frame may wait for room in a full publisher queue (16 frames) before it is
        /// counted as dropped. Default 100ms.
        public var pushTimeout: TimeOffset
        /// With a key, plaintext tracks are published encrypted with it (E2EE room).
        public var e2ee: E2EESettings?
        /// Recorded tracks (IDENTITY/NAME globs) whose most recent frame is sent again, at once
        /// and with its own user timestamp, whenever a participant subscribes to them during
        /// the replay: state tracks (a map, a configuration) that a late joiner would otherwise
        /// not see until their next frame. Data-track frames go to every subscriber of a track,
        /// so the earlier subscribers receive the repeated frame too. Needs a server that tells
        /// a publisher about new subscribers (`trackbag serve` does; livekit-server does not).
        /// Default: none.
        public var latchLateJoiners: [String]

        enum CodingKeys: String, CodingKey {
            case url, room, single, token, publish, e2ee
            case identityPrefix = "identity_prefix", identitySuffix = "identity_suffix"
            case apiKey = "api_key", apiSecret = "api_secret", tokenEnv = "token_env", pushTimeout = "push_timeout"
            case latchLateJoiners = "latch_late_joiners"
        }

        public init(url: String = "ws://127.0.0.1:7880", room: String, identityPrefix: String = "", identitySuffix: String = "",
                    single: String? = nil, apiKey: String? = nil, apiSecret: String? = nil, token: String? = nil,
                    tokenEnv: String? = nil, publish: Publish = .firstFrame, pushTimeout: TimeOffset = TimeOffset(nanoseconds: 100_000_000),
                    e2ee: E2EESettings? = nil, latchLateJoiners: [String] = []) {
            self.url = url
            self.room = room
            self.identityPrefix = identityPrefix
            self.identitySuffix = identitySuffix
            self.single = single
            self.apiKey = apiKey
            self.apiSecret = apiSecret
            self.token = token
            self.tokenEnv = tokenEnv
            self.publish = publish
            self.pushTimeout = pushTimeout
            self.e2ee = e2ee
            self.latchLateJoiners = latchLateJoiners
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            url = try c.decodeIfPresent(String.self, forKey: .url) ?? "ws://127.0.0.1:7880"
            room = try c.decode(String.self, forKey: .room)
            identityPrefix = try c.decodeIfPresent(String.self, forKey: .identityPrefix) ?? ""
            identitySuffix = try c.decodeIfPresent(String.self, forKey: .identitySuffix) ?? ""
            single = try c.decodeIfPresent(String.self, forKey: .single)
            apiKey = try c.decodeIfPresent(String.self, forKey: .apiKey)
            apiSecret = try c.decodeIfPresent(String.self, forKey: .apiSecret)
            token = try c.decodeIfPresent(String.self, forKey: .token)
            tokenEnv = try c.decodeIfPresent(String.self, forKey: .tokenEnv)
            publish = try c.decodeIfPresent(Publish.self, forKey: .publish) ?? .firstFrame
            pushTimeout = try c.decodeIfPresent(TimeOffset.self, forKey: .pushTimeout) ?? TimeOffset(nanoseconds: 100_000_000)
            e2ee = try c.decodeIfPresent(E2EESettings.self, forKey: .e2ee)
            latchLateJoiners = try c.decodeIfPresent([String].self, forKey: .latchLateJoiners) ?? []
            for pattern in latchLateJoiners {
                do { _ = try TrackGlob(pattern) } catch {
                    throw DecodingError.dataCorruptedError(forKey: .latchLateJoiners, in: c,
                                                           debugDescription: "latch_late_joiners: \(error)")
                }
            }
            if e2ee?.mode != nil {
                throw DecodingError.dataCorruptedError(forKey: .e2ee, in: c, debugDescription:
                    "e2ee.mode is a room source option; the republish sink takes only e2ee.key or e2ee.key_env "
                    + "(encrypted recordings are always sent as their ciphertext)")
            }
            guard !room.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .room, in: c, debugDescription: "room must not be empty")
            }
            if let single, single.isEmpty {
                throw DecodingError.dataCorruptedError(forKey: .single, in: c, debugDescription: "single must name an identity")
            }
            if single != nil, !(identityPrefix.isEmpty && identitySuffix.isEmpty) {
                throw DecodingError.dataCorruptedError(forKey: .single, in: c,
                                                       debugDescription: "single and identity_prefix/identity_suffix exclude each other")
            }
            guard pushTimeout.nanoseconds >= 0 else {
                throw DecodingError.dataCorruptedError(forKey: .pushTimeout, in: c, debugDescription: "push_timeout must be ≥ 0")
            }
        }
    }
}
