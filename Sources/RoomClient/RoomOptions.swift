import DataTracks
import WebRTCData

/// How `Room.connect` behaves.
public struct RoomOptions: Sendable {
    /// Sent in the join request as the SDK does; data tracks are still subscribed explicitly.
    public var autoSubscribe = true
    /// Try the single peer connection path `/rtc/v1` first (the SDK default); false goes
    /// straight to `/rtc` with two peer connections.
    public var singlePeerConnection = true
    /// Local addresses for ICE. Default: every up non-loopback IPv4 interface address, plus
    /// 127.0.0.1 when the server URL is a loopback address.
    public var addresses: [IPAddress]?
    /// Per step of connecting (upgrade, join, peer connection, data channel open).
    public var timeout: Duration = .seconds(15)
    /// Further attempts `connect` makes when one fails on the way (a step timed out, the peer
    /// connection or signal failed, the server answered 5xx), as LiveKit's Rust SDK does
    /// (`join_retries`, 3 by default). A refusal (bad token, 4xx) or a protocol violation is
    /// not retried: it would fail the same way.
    public var joinRetries = 3
    /// Re-join by itself when the signal or peer connection is lost.
    public var reconnect = true
    /// End-to-end encryption of data tracks (AES-128-GCM, docs/WIRE.md, "E2EE").
    public var e2ee: E2EEOptions?
    /// E2EE passthrough: frames of encrypted remote tracks are delivered as they arrived,
    /// ciphertext with `DataTrackFrame.e2ee` set, instead of being decrypted (no key needed);
    /// frames pushed with `e2ee` set go out as they are. How `trackbag record` keeps an E2EE
    /// session it holds no key for, and `trackbag play` sends it back.
    public var e2eePassthrough = false

    public init(autoSubscribe: Bool = true, singlePeerConnection: Bool = true, addresses: [IPAddress]? = nil,
                timeout: Duration = .seconds(15), joinRetries: Int = 3, reconnect: Bool = true,
                e2ee: E2EEOptions? = nil, e2eePassthrough: Bool = false) {
        self.autoSubscribe = autoSubscribe
        self.singlePeerConnection = singlePeerConnection
        self.addresses = addresses
        self.timeout = timeout
        self.joinRetries = joinRetries
        self.reconnect = reconnect
        self.e2ee = e2ee
        self.e2eePassthrough = e2eePassthrough
    }
}

/// E2EE for data tracks: our tracks are published with `encryption: GCM` and encrypted with the
/// local participant's key; frames of encrypted remote tracks are decrypted with the
/// publisher's key, and frames that fail are dropped and counted.
///
/// Strict by default: whether a track is encrypted is only what the server says
/// (`DataTrackInfo.encryption`), so a server could label a track unencrypted and hand us
/// plaintext of its own making. In strict mode, plaintext frames are refused and counted
/// (`Room.E2EEDrops.plaintextRefused`); turn it off only for a room that mixes encrypted and
/// plaintext tracks on purpose. docs/e2ee.md says what a server can and cannot do to an E2EE
/// session.
public struct E2EEOptions: Sendable {
    public var keyProvider: E2EEKeyProvider
    /// Refuse frames of tracks the server labels unencrypted.
    public var strict: Bool

    /// Strict: plaintext frames are refused.
    public init(keyProvider: E2EEKeyProvider) {
        self.init(keyProvider: keyProvider, strict: true)
    }

    public init(keyProvider: E2EEKeyProvider, strict: Bool) {
        self.keyProvider = keyProvider
        self.strict = strict
    }
}
