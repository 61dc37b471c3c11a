/// RFC 8445 §6.1.3 / W3C `RTCIceConnectionState`, the states an application sees.
public enum ICEConnectionState: String, Hashable, Sendable {
    case new, checking, connected, disconnected, failed, closed
}

/// The pair data flows on: our socket's address and the peer's.
public struct ICESelectedPair: Hashable, Sendable, CustomStringConvertible {
    public var local: TransportAddress
    public var remote: TransportAddress

    public var description: String { "\(local) ⇄ \(remote)" }
}

/// What an ICE state machine asks its owner to do (values in, actions out).
/// The owner performs them in order.
enum ICEAction: Hashable, Sendable {
    /// Send `datagram` from the socket bound to `from` to `to`.
    case send([UInt8], from: TransportAddress, to: TransportAddress)
    /// A non-STUN datagram from a validated peer address, for the layer above (DTLS).
    case deliver([UInt8], from: TransportAddress)
    case stateChanged(ICEConnectionState)
    case selectedPairChanged(ICESelectedPair)
    /// A check from `remote` (or our check's response from it) passed MESSAGE-INTEGRITY and
    /// FINGERPRINT: a shared port may now route `remote` to this agent (RFC 8489 §9.2).
    case remoteAuthenticated(TransportAddress)
}

/// Counters of what an agent dropped, so bad input is visible rather than silent
/// (bad input is rejected with an error and counted, never fatal).
public struct ICECounters: Hashable, Sendable {
    /// Datagrams that looked like STUN but failed to decode.
    public var malformed = 0
    /// Requests with a missing or wrong USERNAME, MESSAGE-INTEGRITY or FINGERPRINT.
    public var unauthenticated = 0
    /// Responses that matched no outstanding transaction.
    public var unmatchedResponses = 0
    /// Non-STUN datagrams from addresses no check validated.
    public var unknownSource = 0
    /// Datagrams that are neither STUN nor DTLS (RFC 7983 ranges).
    public var unknownProtocol = 0
    public var requestsAnswered = 0
    public var checksSent = 0
    /// Remote candidates refused by `RemoteCandidatePolicy` (address or count).
    public var refusedCandidates = 0
    public var lastError: WebRTCDataError?
}

/// RFC 7983 §7: the first byte of a datagram on an ICE/DTLS port says what it carries.
enum DatagramKind: Hashable, Sendable {
    case stun, dtls, other

    init(firstByte: UInt8) {
        switch firstByte {
        case 0...3: self = .stun
        case 20...63: self = .dtls
        default: self = .other
        }
    }

    init(_ datagram: [UInt8]) {
        self = datagram.isEmpty ? .other : DatagramKind(firstByte: datagram[0])
    }
}
