/// One user message on an SCTP stream, with the delivery rules PR-SCTP applies to it
/// (RFC 8831 §6.6: one data-channel message is one SCTP user message).
struct SCTPMessage: Sendable, Equatable {
    var stream: UInt16
    var payloadProtocol: SCTPPayloadProtocol
    var payload: [UInt8]
    var ordered: Bool = true
    var reliability: DataChannelReliability = .reliable
}

/// What an `SCTPAssociation` reports to its owner.
enum SCTPEvent: Sendable, Equatable {
    /// SCTP_COMM_UP: the association is established (RFC 4960 §5.1).
    case connected
    /// The association ended (lost, shut down or refused).
    case disconnected
    /// A whole user message arrived.
    case message(SCTPMessage)
    /// The peer reset these incoming streams (its outgoing side, RFC 6525 §5.2.2).
    case incomingStreamsReset([UInt16])
    /// Our outgoing reset of these streams completed.
    case outgoingStreamsReset([UInt16])
    /// Queued bytes left our queue; the new per-stream amounts.
    case bufferedAmountChanged([UInt16: Int])
}
