/// A session description (RFC 8866), reduced to what a data-channel-only WebRTC endpoint needs
/// (RFC 8841 for SCTP over DTLS, RFC 8839 for ICE, RFC 8842 for DTLS `a=setup`, RFC 9143 BUNDLE).
///
/// Lines this type does not model are kept in order (`otherLines`, `attributes`), so a parsed
/// offer generates again with nothing lost; unknown attributes are never an error.
public struct SessionDescription: Hashable, Sendable {
    public var origin: String = "- 0 2 IN IP4 127.0.0.1"
    public var sessionName: String = "-"
    public var timing: String = "0 0"
    public var groups: [SDPGroup] = []
    /// `a=ice-lite` (RFC 8839 §5.3): the agent only answers checks.
    public var iceLite = false
    public var iceUfrag: String?
    public var icePwd: String?
    public var iceOptions: [String] = []
    public var fingerprints: [SDPFingerprint] = []
    public var setup: SDPSetup?
    /// Session-level attributes this type does not model, in order (`msid-semantic`, …).
    public var attributes: [SDPAttribute] = []
    /// Session-level lines other than v/o/s/t/a/m (`c=`, `b=`, `i=`…), kept verbatim.
    public var otherLines: [String] = []
    public var media: [MediaDescription] = []

    public init() {}

    /// The BUNDLE group (RFC 9143), if any.
    public var bundle: SDPGroup? { groups.first { $0.semantics == "BUNDLE" } }

    /// The first `m=application … webrtc-datachannel` section: the one this stack uses.
    public var dataChannelMedia: MediaDescription? { media.first { $0.isDataChannel } }

    /// ICE credentials of a media section, falling back to the session level (RFC 8839 §5.4).
    public func iceCredentials(of media: MediaDescription) -> (ufrag: String, pwd: String)? {
        guard let ufrag = media.iceUfrag ?? iceUfrag, let pwd = media.icePwd ?? icePwd else { return nil }
        return (ufrag, pwd)
    }

    /// Fingerprints of a media section, falling back to the session level (RFC 8122 §5).
    public func fingerprints(of media: MediaDescription) -> [SDPFingerprint] {
        media.fingerprints.isEmpty ? fingerprints : media.fingerprints
    }

    public func setup(of media: MediaDescription) -> SDPSetup? { media.setup ?? setup }
}

/// One `m=` section and its attributes.
public struct MediaDescription: Hashable, Sendable {
    /// `audio`, `video`, `application`, …
    public var kind: String
    /// 0 rejects the section (RFC 8866 §5.14, RFC 3264 §6).
    public var port: Int
    public var proto: String
    /// For `UDP/DTLS/SCTP` the single format `webrtc-datachannel` (RFC 8841 §4.1).
    public var formats: [String]
    public var connection: String?
    public var mid: String?
    public var iceUfrag: String?
    public var icePwd: String?
    public var iceOptions: [String] = []
    public var fingerprints: [SDPFingerprint] = []
    public var setup: SDPSetup?
    /// `sendrecv`, `recvonly`, `sendonly`, `inactive`.
    public var direction: String?
    /// `a=sctp-port` (RFC 8841 §5.2): the SCTP port, 5000 in WebRTC.
    public var sctpPort: Int?
    /// `a=max-message-size` (RFC 8841 §6): largest message the sender can receive, 0 = no limit.
    public var maxMessageSize: Int?
    public var candidates: [ICECandidate] = []
    /// `a=end-of-candidates` (RFC 8840 §4.1): the sender gathers no more.
    public var endOfCandidates = false
    public var attributes: [SDPAttribute] = []
    public var otherLines: [String] = []

    public init(kind: String, port: Int, proto: String, formats: [String]) {
        self.kind = kind
        self.port = port
        self.proto = proto
        self.formats = formats
    }

    /// RFC 8841 §4.1: `m=application <port> UDP/DTLS/SCTP webrtc-datachannel` (also TCP/DTLS/SCTP).
    public var isDataChannel: Bool {
        kind == "application" && proto.hasSuffix("DTLS/SCTP") && formats == ["webrtc-datachannel"]
    }

    public var isRejected: Bool { port == 0 }
}

/// `a=group:<semantics> <mid>…` (RFC 5888 §5).
public struct SDPGroup: Hashable, Sendable {
    public var semantics: String
    public var mids: [String]

    public init(semantics: String, mids: [String]) {
        self.semantics = semantics
        self.mids = mids
    }
}

/// `a=setup` (RFC 8842 §5.3, RFC 4145 §4): who starts DTLS. `active` is the DTLS client.
public enum SDPSetup: String, Hashable, Sendable {
    case active, passive, actpass, holdconn

    /// The role an answerer takes for an offerer's `a=setup` (RFC 8842 §5.3): an `actpass`
    /// offer leaves the choice to us (`preferred`, `active` like libwebrtc when unspecified).
    func answer(preferring preferred: SDPSetup = .active) -> SDPSetup {
        switch self {
        case .active: .passive
        case .passive: .active
        case .actpass, .holdconn: preferred == .passive ? .passive : .active
        }
    }
}

/// An attribute this layer does not model: `a=<name>` or `a=<name>:<value>`.
public struct SDPAttribute: Hashable, Sendable {
    public var name: String
    public var value: String?

    public init(_ name: String, _ value: String? = nil) {
        self.name = name
        self.value = value
    }

    var line: String { value.map { "a=\(name):\($0)" } ?? "a=\(name)" }
}

extension WebRTCDataError.Reason {
    static let badLine = Self("bad line")
    static let badValue = Self("bad value")
    static let missingLine = Self("missing line")
    static let noDataChannel = Self("no data channel section")
}
