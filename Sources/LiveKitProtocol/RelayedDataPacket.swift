import SwiftProtobuf

/// A `DataPacket` received on a publisher's `_reliable` or `_lossy` channel, made ready for
/// the other participants as livekit-server does (`pkg/rtc/participant.go`
/// `handleReceivedDataMessage`, `pkg/rtc/room.go` `BroadcastDataPacketForRoom`):
///
/// - the channel it came on decides `kind` (the packet's own claim is not trusted);
/// - the server asserts the sender: `participant_identity` (and, in a user packet, the deprecated
///   `participant_identity`/`participant_sid`) become the sender's, or empty for a hidden one;
/// - destinations are `destination_identities`, falling back to the user packet's deprecated
///   copy (both are set to the same list), plus the user packet's `destination_sids`; none means
///   everyone but the sender;
/// - a transcription is forwarded only from an agent.
///
/// The bytes are serialized once and sent unchanged to every recipient; payload kinds our schema
/// subset leaves out travel on as unknown fields. Requiring `canPublishData` and dropping
/// repeated reliable `sequence` numbers are the caller's (they need per-participant state).
public struct RelayedDataPacket: Equatable, Sendable {
    public var packet: Livekit_DataPacket
    /// What to send to each recipient.
    public var bytes: [UInt8]
    /// Recipients by identity; empty together with `destinationSids` means everyone else.
    public var destinationIdentities: [String]
    public var destinationSids: [String]

    /// Whether a participant other than the sender receives it.
    public func isAddressed(toIdentity identity: String, sid: String) -> Bool {
        if destinationIdentities.isEmpty && destinationSids.isEmpty { return true }
        return destinationIdentities.contains(identity) || destinationSids.contains(sid)
    }

    /// Decodes and re-stamps `bytes`; nil when LiveKit would not forward the packet.
    public static func relay(_ bytes: [UInt8], channel kind: Livekit_DataPacket.Kind, senderIdentity: String,
                             senderSid: String, hidden: Bool = false,
                             senderIsAgent: Bool = false) throws(LiveKitProtocolError) -> RelayedDataPacket? {
        var packet: Livekit_DataPacket
        do {
            packet = try Livekit_DataPacket(serializedBytes: bytes)
        } catch {
            throw .malformedDataPacket(reason: "\(error) in \(bytes.count) bytes")
        }
        packet.kind = kind
        var destinationSids: [String] = []
        switch packet.value {
        case .user(var user)?:
            user.participantSid = hidden ? "" : senderSid
            user.participantIdentity = hidden ? "" : senderIdentity
            if packet.destinationIdentities.isEmpty {
                packet.destinationIdentities = user.destinationIdentities
            } else {
                user.destinationIdentities = packet.destinationIdentities
            }
            destinationSids = user.destinationSids
            packet.user = user
        case .transcription?:
            guard senderIsAgent else { return nil }
        default:
            break
        }
        packet.participantIdentity = hidden ? "" : senderIdentity
        let out: [UInt8] = (try? packet.serializedBytes()) ?? []
        return RelayedDataPacket(packet: packet, bytes: out, destinationIdentities: packet.destinationIdentities,
                                 destinationSids: destinationSids)
    }
}
