/// What an application sees of a peer connection (W3C WebRTC §4.3.3 RTCPeerConnectionState,
/// reduced to a data-only connection: ICE, then DTLS and SCTP).
public enum PeerConnectionState: Sendable, Equatable {
    case new
    /// ICE checks, DTLS handshake or SCTP association in progress.
    case connecting
    /// SCTP is up over DTLS over the selected ICE pair: channels can open.
    case connected
    /// ICE consent lapsed (RFC 7675); may recover.
    case disconnected
    case failed
    case closed
}
