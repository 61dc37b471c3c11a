/// Building offers and answers for a data-channel-only endpoint (RFC 8841, RFC 8829 JSEP).
///
/// LiveKit's SDK offers 3 audio + 3 video `recvonly` sections beside the application one
/// (docs/WIRE.md): a data-only answerer rejects each (port 0, `a=inactive`, out of BUNDLE —
/// RFC 8829 §5.3.1, RFC 9143 §7.3.3) and keeps every section in the offer's order with its mid
/// (RFC 3264 §6: the answer has as many m= lines as the offer, in the same order).
public struct DataChannelParameters: Hashable, Sendable {
    public var iceUfrag: String
    public var icePwd: String
    public var iceLite: Bool
    public var fingerprint: SDPFingerprint
    /// For an answer: the DTLS role we prefer when the offer says `actpass`.
    public var preferredSetup: SDPSetup
    public var candidates: [ICECandidate]
    public var endOfCandidates: Bool
    public var sctpPort: Int
    /// What we can receive; 262144 like libwebrtc (RFC 8841 §6).
    public var maxMessageSize: Int

    public init(iceUfrag: String, icePwd: String, iceLite: Bool = false, fingerprint: SDPFingerprint,
                preferredSetup: SDPSetup = .active, candidates: [ICECandidate] = [], endOfCandidates: Bool = false,
                sctpPort: Int = 5000, maxMessageSize: Int = 262_144) {
        self.iceUfrag = iceUfrag
        self.icePwd = icePwd
        self.iceLite = iceLite
        self.fingerprint = fingerprint
        self.preferredSetup = preferredSetup
        self.candidates = candidates
        self.endOfCandidates = endOfCandidates
        self.sctpPort = sctpPort
        self.maxMessageSize = maxMessageSize
    }
}

extension SessionDescription {
    /// An offer with one `m=application` section, mid "0", BUNDLEd, `a=setup:actpass`
    /// (RFC 8842 §5.2: an offerer must say actpass).
    public static func dataChannelOffer(_ parameters: DataChannelParameters, sessionID: UInt64 = .random(in: 1...(1 << 62)))
        -> SessionDescription {
        var offer = SessionDescription()
        offer.origin = "- \(sessionID) 2 IN IP4 127.0.0.1"
        offer.groups = [SDPGroup(semantics: "BUNDLE", mids: ["0"])]
        offer.iceLite = parameters.iceLite
        offer.attributes = [SDPAttribute("msid-semantic", " WMS")]
        var section = MediaDescription(kind: "application", port: 9, proto: "UDP/DTLS/SCTP", formats: ["webrtc-datachannel"])
        section.fill(parameters, setup: .actpass)
        offer.media = [section]
        return offer
    }

    /// The answer to `offer`: the first data-channel section accepted, every other section
    /// rejected. Throws when the offer has no usable data-channel section or lacks ICE
    /// credentials or a fingerprint for it.
    public func dataChannelAnswer(_ parameters: DataChannelParameters, sessionID: UInt64 = .random(in: 1...(1 << 62)))
        throws(WebRTCDataError) -> SessionDescription {
        guard let accepted = media.firstIndex(where: { $0.isDataChannel && !$0.isRejected }) else {
            throw WebRTCDataError(.sdp, .noDataChannel, at: "offer", "no m=application … webrtc-datachannel section")
        }
        let offered = media[accepted]
        guard iceCredentials(of: offered) != nil else {
            throw WebRTCDataError(.sdp, .missingLine, at: "m-line \(accepted)", "no a=ice-ufrag/a=ice-pwd for the data channel")
        }
        guard !fingerprints(of: offered).isEmpty else {
            throw WebRTCDataError(.sdp, .missingLine, at: "m-line \(accepted)", "no a=fingerprint for the data channel")
        }
        var answer = SessionDescription()
        answer.origin = "- \(sessionID) 2 IN IP4 127.0.0.1"
        answer.iceLite = parameters.iceLite
        answer.attributes = [SDPAttribute("msid-semantic", " WMS")]
        let offeredSetup = setup(of: offered) ?? .actpass
        for (index, section) in media.enumerated() {
            if index == accepted {
                var reply = MediaDescription(kind: "application", port: 9, proto: section.proto, formats: section.formats)
                reply.mid = section.mid
                reply.fill(parameters, setup: offeredSetup.answer(preferring: parameters.preferredSetup))
                answer.media.append(reply)
            } else {
                // RFC 8829 §5.3.1 / RFC 3264 §6: same media, port 0; mid kept so the offerer
                // can match it; `a=inactive` since nothing will flow.
                var rejected = MediaDescription(kind: section.kind, port: 0, proto: section.proto, formats: section.formats)
                rejected.connection = "IN IP4 0.0.0.0"
                rejected.mid = section.mid
                rejected.direction = "inactive"
                answer.media.append(rejected)
            }
        }
        // RFC 9143 §7.3.3: a rejected section leaves the BUNDLE group.
        if bundle != nil, let mid = offered.mid {
            answer.groups = [SDPGroup(semantics: "BUNDLE", mids: [mid])]
        }
        return answer
    }
}

extension MediaDescription {
    fileprivate mutating func fill(_ parameters: DataChannelParameters, setup: SDPSetup) {
        connection = "IN IP4 0.0.0.0"
        if mid == nil { mid = "0" }
        iceUfrag = parameters.iceUfrag
        icePwd = parameters.icePwd
        iceOptions = parameters.iceLite ? [] : ["trickle"]
        fingerprints = [parameters.fingerprint]
        self.setup = setup
        sctpPort = parameters.sctpPort
        maxMessageSize = parameters.maxMessageSize
        candidates = parameters.candidates
        endOfCandidates = parameters.endOfCandidates
    }
}
