import Foundation
import SwiftProtobuf

/// A `DataPacket` received on a publisher's `_reliable` or `_lossy` channel, made ready for
/// the other participants as livekit-server does (`pkg/rtc/participant.go`
/// `onReceivedDataMessage`, `handleReceivedDataMessage`; `pkg/rtc/room.go`
/// `BroadcastDataPacketForRoom`):
///
/// - the channel it came on decides `kind` (the packet's own claim is not trusted);
/// - `participant_sid` becomes the sender's, always;
/// - the server asserts the sender's identity: `participant_identity` (and, in a user packet,
///   the deprecated `participant_identity`/`participant_sid`) become the sender's, or empty for
///   a hidden sender. An agent's chat message or text-stream header that names someone else
///   keeps that identity and is marked `generated` (agents speak for the participants they
///   transcribe);
/// - destinations are `destination_identities`, falling back to the user packet's deprecated
///   copy (both are set to the same list), plus the user packet's `destination_sids`; none means
///   everyone but the sender;
/// - a transcription from a non-agent, and a metrics batch (livekit-server feeds those to its
///   metrics reporter, never to the room), are not relayed: `notRelayed` says why.
///
/// The bytes are serialized once and sent unchanged to every recipient; payload kinds our schema
/// subset leaves out travel on as unknown fields. Requiring `canPublishData` and dropping
/// repeated reliable `sequence` numbers and user-packet nonces are the caller's (they need
/// per-participant and per-room state).
public struct RelayedDataPacket: Equatable, Sendable {
    /// Why a packet reaches nobody.
    public enum NotRelayed: Hashable, Sendable {
        case transcriptionFromNonAgent
        case metrics
    }

    public var packet: Livekit_DataPacket
    /// What to send to each recipient.
    public var bytes: [UInt8]
    /// Recipients by identity; empty together with `destinationSids` means everyone else.
    public var destinationIdentities: [String]
    public var destinationSids: [String]
    /// Set when the packet must not be relayed.
    public var notRelayed: NotRelayed?

    /// Whether a participant other than the sender receives it.
    public func isAddressed(toIdentity identity: String, sid: String) -> Bool {
        guard notRelayed == nil else { return false }
        if destinationIdentities.isEmpty && destinationSids.isEmpty { return true }
        return destinationIdentities.contains(identity) || destinationSids.contains(sid)
    }

    /// `DataPacket` field 8, `metrics` (`MetricsBatch`), which our schema subset leaves out.
    static let metricsFieldNumber = 8

    /// Decodes and re-stamps `bytes`.
    public static func relay(_ bytes: [UInt8], channel kind: Livekit_DataPacket.Kind, senderIdentity: String,
                             senderSid: String, hidden: Bool = false,
                             senderIsAgent: Bool = false) throws(LiveKitProtocolError) -> RelayedDataPacket {
        var packet: Livekit_DataPacket
        do {
            packet = try Livekit_DataPacket(serializedBytes: bytes)
        } catch {
            throw .malformedDataPacket(reason: "\(error) in \(bytes.count) bytes")
        }
        packet.kind = kind
        packet.participantSid = senderSid
        let ownIdentity = hidden ? "" : senderIdentity
        // An agent may speak for someone else in chat and text streams.
        let speaksForOther = senderIsAgent && !packet.participantIdentity.isEmpty && packet.participantIdentity != senderIdentity
        var overrideIdentity = true
        var notRelayed: NotRelayed?
        var destinationSids: [String] = []
        switch packet.value {
        case .user(var user)?:
            user.participantSid = hidden ? "" : senderSid
            user.participantIdentity = ownIdentity
            if packet.destinationIdentities.isEmpty {
                packet.destinationIdentities = user.destinationIdentities
            } else {
                user.destinationIdentities = packet.destinationIdentities
            }
            destinationSids = user.destinationSids
            packet.user = user
        case .transcription?:
            if !senderIsAgent { notRelayed = .transcriptionFromNonAgent }
        case .chatMessage(var chat)?:
            if speaksForOther {
                overrideIdentity = false
                chat.generated = true
                packet.chatMessage = chat
            }
        case .streamHeader(var header)?:
            if speaksForOther, case .textHeader(var text)? = header.contentHeader {
                overrideIdentity = false
                text.generated = true
                header.textHeader = text
                packet.streamHeader = header
            }
        case nil:
            if carriesField(metricsFieldNumber, in: packet.unknownFields.data) { notRelayed = .metrics }
        default:
            break
        }
        if overrideIdentity { packet.participantIdentity = ownIdentity }
        // `BroadcastDataPacketForRoom`: the user packet's deprecated identity follows the packet's.
        if case .user(var user)? = packet.value {
            if packet.participantIdentity.isEmpty {
                packet.participantIdentity = user.participantIdentity
            } else {
                user.participantIdentity = packet.participantIdentity
            }
            packet.user = user
        }
        let out: [UInt8] = notRelayed == nil ? ((try? packet.serializedBytes()) ?? []) : []
        return RelayedDataPacket(packet: packet, bytes: out, destinationIdentities: packet.destinationIdentities,
                                 destinationSids: destinationSids, notRelayed: notRelayed)
    }

    /// Whether protobuf bytes hold a field numbered `number` (a walk over tag, value pairs;
    /// unknown-field storage is always well-formed, having been parsed once).
    static func carriesField(_ number: Int, in data: Data) -> Bool {
        let bytes = [UInt8](data)
        var index = 0
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.count, shift < 64 {
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        while index < bytes.count {
            guard let tag = varint() else { return false }
            if Int(tag >> 3) == number { return true }
            switch tag & 7 {
            case 0: guard varint() != nil else { return false }
            case 1: index += 8
            case 2:
                guard let length = varint(), length <= UInt64(bytes.count - min(index, bytes.count)) else { return false }
                index += Int(length)
            case 5: index += 4
            default: return false  // groups are not used by LiveKit's schema
            }
        }
        return false
    }
}
