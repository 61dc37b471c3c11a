import WebRTCData

/// A later offer on a publisher connection that is already up: LiveKit's SDKs send one when the
/// publisher needs renegotiating (the Rust SDK does on `register_rpc_method`, to have the
/// connection ready for RPC acks), with the same ICE credentials and DTLS fingerprint and the
/// data section where it was. Our data-only stack cannot add media, and has nothing to change:
/// the answer repeats our parameters (ICE credentials, fingerprint, DTLS role, SCTP port) for the
/// new offer, and the connection carries on untouched. livekit-server applies such an offer to
/// the same peer connection (`pkg/rtc/transport.go` `HandleRemoteDescription`); dropping the
/// connection instead, as we did, cuts the participant's data channels.
///
/// An offer that restarts ICE (new credentials, RFC 8839 §4.4.1.1.1), changes the fingerprint or
/// moves the data section is not a renegotiation of this connection: `reanswer` returns nil and
/// the caller replaces the connection.
enum PublisherRenegotiation {
    /// The answer to `offer` that keeps the connection set up by `previousOffer` and our
    /// `previousAnswer`, or nil when it cannot be kept.
    static func reanswer(_ offer: SessionDescription, previousOffer: SessionDescription,
                         previousAnswer: SessionDescription) -> SessionDescription? {
        guard let index = offer.media.firstIndex(where: { $0.isDataChannel && !$0.isRejected }),
              let previousIndex = previousOffer.media.firstIndex(where: { $0.isDataChannel && !$0.isRejected }),
              index == previousIndex, previousAnswer.media.indices.contains(index) else { return nil }
        let section = offer.media[index]
        let previous = previousOffer.media[previousIndex]
        guard section.mid == previous.mid,
              let credentials = offer.iceCredentials(of: section),
              let previousCredentials = previousOffer.iceCredentials(of: previous),
              credentials == previousCredentials,
              Set(offer.fingerprints(of: section)) == Set(previousOffer.fingerprints(of: previous)) else { return nil }
        let ours = previousAnswer.media[index]
        guard let ourCredentials = previousAnswer.iceCredentials(of: ours),
              let fingerprint = previousAnswer.fingerprints(of: ours).first,
              let role = previousAnswer.setup(of: ours) else { return nil }
        // RFC 8842 §5.5: the DTLS roles stay as they are without an ICE restart.
        switch offer.setup(of: section) ?? .actpass {
        case .actpass: break
        case .active where role == .passive: break
        case .passive where role == .active: break
        default: return nil
        }
        let parameters = DataChannelParameters(
            iceUfrag: ourCredentials.ufrag, icePwd: ourCredentials.pwd, iceLite: previousAnswer.iceLite,
            fingerprint: fingerprint, preferredSetup: role, candidates: ours.candidates,
            endOfCandidates: ours.endOfCandidates, sctpPort: ours.sctpPort ?? 5000,
            maxMessageSize: ours.maxMessageSize ?? 262_144)
        guard var answer = try? offer.dataChannelAnswer(parameters) else { return nil }
        // RFC 3264 §8: the same session, a higher version.
        answer.origin = nextOrigin(after: previousAnswer.origin)
        return answer
    }

    /// `o=` with the session version incremented (`- <id> <version> IN IP4 …`).
    static func nextOrigin(after origin: String) -> String {
        var fields = origin.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard fields.count >= 3, let version = UInt64(fields[2]) else { return origin }
        fields[2] = String(version &+ 1)
        return fields.joined(separator: " ")
    }
}
