import Pipeline
import Recording

extension RoomSource {
    /// Options of a `type: room` source.
    ///
    /// ```yaml
    /// sources:
    ///   lab:
    ///     type: room
    ///     url: ws://127.0.0.1:7880
    ///     room: lab
    ///     identity: trackbag-recorder
    ///     api_key: devkey          # or token: …, or token_env: LIVEKIT_TOKEN
    ///     api_secret: secret
    ///     tracks: ["robot-*/imu", "*/status"]
    ///     buffer_size: 256
    ///     hidden: true             # join as a hidden participant (the token must grant it)
    ///     e2ee: {mode: passthrough}   # encrypted tracks: keep ciphertext (default), or
    ///                                 # {mode: decrypt, key: …} to keep plaintext
    /// ```
    public struct Config: Decodable, Sendable, Hashable {
        /// Server URL (`ws://`, `wss://`, `http(s)://` accepted). Default `ws://127.0.0.1:7880`.
        public var url: String
        /// The room to join.
        public var room: String
        /// Our participant identity. Default `trackbag-recorder`.
        public var identity: String
        public var apiKey: String?
        public var apiSecret: String?
        /// A ready access token (its identity wins over `identity`).
        public var token: String?
        /// Name of an environment variable holding the token.
        public var tokenEnv: String?
        /// `IDENTITY/NAME` globs of the tracks to record. Default `*/*`.
        public var tracks: [String]
        /// Frames each track's subscription may hold while the pipeline is busy; beyond it
        /// frames are dropped and reported as `drop` events. Default 1024.
        public var bufferSize: Int
        /// What to do with end-to-end encrypted tracks (see `E2EESettings`). Default: store
        /// the ciphertext with its key index and IV, so no key is ever needed to record.
        public var e2ee: E2EESettings?
        /// Join hidden: the other participants do not see us in their participant lists and our
        /// data packets carry no identity (LiveKit's `hidden` grant, asked for in the token we
        /// sign; a given token must carry it). Default false.
        public var hidden: Bool

        enum CodingKeys: String, CodingKey {
            case url, room, identity, token, tracks, e2ee, hidden
            case apiKey = "api_key", apiSecret = "api_secret", tokenEnv = "token_env", bufferSize = "buffer_size"
        }

        public init(url: String = "ws://127.0.0.1:7880", room: String, identity: String = "trackbag-recorder",
                    apiKey: String? = nil, apiSecret: String? = nil, token: String? = nil, tokenEnv: String? = nil,
                    tracks: [String] = ["*/*"], bufferSize: Int = 1024, e2ee: E2EESettings? = nil, hidden: Bool = false) {
            self.url = url
            self.room = room
            self.identity = identity
            self.apiKey = apiKey
            self.apiSecret = apiSecret
            self.token = token
            self.tokenEnv = tokenEnv
            self.tracks = tracks
            self.bufferSize = bufferSize
            self.e2ee = e2ee
            self.hidden = hidden
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            url = try c.decodeIfPresent(String.self, forKey: .url) ?? "ws://127.0.0.1:7880"
            room = try c.decode(String.self, forKey: .room)
            identity = try c.decodeIfPresent(String.self, forKey: .identity) ?? "trackbag-recorder"
            apiKey = try c.decodeIfPresent(String.self, forKey: .apiKey)
            apiSecret = try c.decodeIfPresent(String.self, forKey: .apiSecret)
            token = try c.decodeIfPresent(String.self, forKey: .token)
            tokenEnv = try c.decodeIfPresent(String.self, forKey: .tokenEnv)
            tracks = try c.decodeIfPresent([String].self, forKey: .tracks) ?? ["*/*"]
            bufferSize = try c.decodeIfPresent(Int.self, forKey: .bufferSize) ?? 1024
            e2ee = try c.decodeIfPresent(E2EESettings.self, forKey: .e2ee)
            hidden = try c.decodeIfPresent(Bool.self, forKey: .hidden) ?? false
            guard !room.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .room, in: c, debugDescription: "room must not be empty")
            }
            guard !identity.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .identity, in: c, debugDescription: "identity must not be empty")
            }
            guard (1...1_000_000).contains(bufferSize) else {
                throw DecodingError.dataCorruptedError(forKey: .bufferSize, in: c,
                                                       debugDescription: "buffer_size must be 1…1000000, got \(bufferSize)")
            }
            guard !tracks.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .tracks, in: c, debugDescription: "tracks must name at least one glob")
            }
        }
    }
}
