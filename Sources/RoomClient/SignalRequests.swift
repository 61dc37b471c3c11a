import Foundation
import LiveKitProtocol
import WebRTCData

/// The `SignalRequest`s the client sends, built as LiveKit's Rust/Python SDK builds them (the
/// captures in `testvectors/livekit-python-1.2.1/*/signal-sequence.jsonl`, docs/WIRE.md). Pure
/// values, so tests compare them field by field.
enum SignalRequests {
    /// Protocol version the SDK 1.2.1 announces (`ClientInfo.protocol` 18).
    static let protocolVersion: Int32 = 18
    /// What other clients may use toward us. The SDK announces 2 (data streams v2); 1 means
    /// "RPC over data streams" (`DATA_STREAM_RPC`), and peers then send RPC requests and
    /// responses as `lk.rpc_request`/`lk.rpc_response` data streams, which this client does not
    /// read. 0 keeps them on RPC version 1, DataPackets on `_reliable` (docs/rpc.md).
    static let clientProtocol: Int32 = 0
    static let sdkVersion = "trackbag-0.1"

    static func clientInfo() -> Livekit_ClientInfo {
        var info = Livekit_ClientInfo()
        info.sdk = .swift
        info.version = sdkVersion
        info.protocol = protocolVersion
        info.clientProtocol = clientProtocol
        #if os(Linux)
        info.os = "Linux"
        #else
        info.os = "macOS"
        #endif
        info.deviceModel = "Unknown"
        return info
    }

    /// `JoinRequest` for `/rtc/v1`: client info, auto-subscribe (as the SDK), the publisher offer.
    static func joinRequest(publisherOffer sdp: String, autoSubscribe: Bool) -> Livekit_JoinRequest {
        var request = Livekit_JoinRequest()
        request.clientInfo = clientInfo()
        var settings = Livekit_ConnectionSettings()
        settings.autoSubscribe = autoSubscribe
        request.connectionSettings = settings
        var offer = Livekit_SessionDescription()
        offer.type = "offer"
        offer.sdp = sdp
        request.publisherOffer = offer
        return request
    }

    /// Query items of the `/rtc` path (two peer connections), the SDK's `get_livekit_url` order.
    static func legacyQuery(autoSubscribe: Bool) -> [(String, String)] {
        let info = clientInfo()
        return [("sdk", "swift"), ("os", info.os), ("device_model", info.deviceModel),
                ("protocol", String(protocolVersion)), ("client_protocol", String(clientProtocol)),
                ("auto_subscribe", autoSubscribe ? "1" : "0"), ("adaptive_stream", "0"),
                ("version", sdkVersion)]
    }

    /// `/rtc/v1?join_request=…` (padded base64url, percent-escaped).
    static func singlePeerConnectionTarget(publisherOffer sdp: String, autoSubscribe: Bool) -> String {
        let join = joinRequest(publisherOffer: sdp, autoSubscribe: autoSubscribe)
        return "/rtc/v1?join_request=" + Room.queryEscaped(JoinRequestQuery.encode(join))
    }

    /// `/rtc?sdk=swift&…`.
    static func twoPeerConnectionsTarget(autoSubscribe: Bool) -> String {
        "/rtc?" + legacyQuery(autoSubscribe: autoSubscribe).map { "\($0.0)=\(Room.queryEscaped($0.1))" }.joined(separator: "&")
    }

    static func sessionDescription(_ type: String, sdp: String, id: UInt32 = 0) -> Livekit_SignalRequest {
        var description = Livekit_SessionDescription()
        description.type = type
        description.sdp = sdp
        description.id = id
        var request = Livekit_SignalRequest()
        request.message = type == "offer" ? .offer(description) : .answer(description)
        return request
    }

    static func trickle(_ candidate: ICECandidateInit, target: Livekit_SignalTarget) -> Livekit_SignalRequest {
        var trickle = Livekit_TrickleRequest()
        trickle.candidateInit = candidate.json()
        trickle.target = target
        var request = Livekit_SignalRequest()
        request.message = .trickle(trickle)
        return request
    }

    /// `ping_req` with Unix milliseconds and the last measured round trip (0 before the first).
    static func ping(timestampMs: Int64, rttMs: Int64) -> Livekit_SignalRequest {
        var ping = Livekit_Ping()
        ping.timestamp = timestampMs
        ping.rtt = rttMs
        var request = Livekit_SignalRequest()
        request.message = .pingReq(ping)
        return request
    }

    static func leave() -> Livekit_SignalRequest {
        var leave = Livekit_LeaveRequest()
        leave.reason = .clientInitiated
        leave.action = .disconnect
        var request = Livekit_SignalRequest()
        request.message = .leave(leave)
        return request
    }

    static func publishDataTrack(_ publication: DataTrackPublication) -> Livekit_SignalRequest {
        var publish = Livekit_PublishDataTrackRequest()
        publish.pubHandle = UInt32(publication.handle)
        publish.name = publication.name
        publish.encryption = publication.encrypted ? .gcm : .none
        if let encoding = publication.frameEncoding { publish.frameEncoding = encoding.wire }
        if let schema = publication.schema {
            var id = Livekit_DataTrackSchemaId()
            id.name = schema
            if let encoding = publication.schemaEncoding { id.encoding = DataTrackPublication.wireSchemaEncoding(encoding) }
            publish.schema = id
        }
        var request = Livekit_SignalRequest()
        request.message = .publishDataTrackRequest(publish)
        return request
    }

    static func unpublishDataTrack(handle: UInt16) -> Livekit_SignalRequest {
        var unpublish = Livekit_UnpublishDataTrackRequest()
        unpublish.pubHandle = UInt32(handle)
        var request = Livekit_SignalRequest()
        request.message = .unpublishDataTrackRequest(unpublish)
        return request
    }

    /// One `UpdateDataSubscription` naming tracks by sid (docs/WIRE.md, "Subscribing").
    /// `update_metadata` with attributes only (an empty value deletes its key; name and
    /// metadata left empty are left as they are).
    static func updateAttributes(_ attributes: [String: String], requestID: UInt32) -> Livekit_SignalRequest {
        var update = Livekit_UpdateParticipantMetadata()
        update.attributes = attributes
        update.requestID = requestID
        var request = Livekit_SignalRequest()
        request.message = .updateMetadata(update)
        return request
    }

    static func updateDataSubscription(subscribe: Bool, trackSids: [String]) -> Livekit_SignalRequest {
        var update = Livekit_UpdateDataSubscription()
        update.updates = trackSids.map { sid in
            var item = Livekit_UpdateDataSubscription.Update()
            item.trackSid = sid
            item.subscribe = subscribe
            return item
        }
        var request = Livekit_SignalRequest()
        request.message = .updateDataSubscription(update)
        return request
    }
}
