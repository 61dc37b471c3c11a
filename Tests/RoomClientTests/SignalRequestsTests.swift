import DataTracks
import Foundation
import LiveKitProtocol
@testable import RoomClient
import WebRTCData
import XCTest

/// The signal messages the client builds, checked against what the SDK sends in the captures
/// (`testvectors/livekit-python-1.2.1/*/signal-sequence.jsonl`).
final class SignalRequestsTests: XCTestCase {
    func testJoinRequestCarriesOfferAndSurvivesTheQueryCodec() throws {
        let request = SignalRequests.joinRequest(publisherOffer: "v=0\r\nfake", autoSubscribe: true)
        let encoded = JoinRequestQuery.encode(request)
        let decoded = try JoinRequestQuery.decode(encoded)
        XCTAssertEqual(decoded.publisherOffer.type, "offer")
        XCTAssertEqual(decoded.publisherOffer.sdp, "v=0\r\nfake")
        XCTAssertTrue(decoded.connectionSettings.autoSubscribe)
        XCTAssertEqual(decoded.clientInfo.sdk, .swift)
        XCTAssertEqual(decoded.clientInfo.protocol, 18)
        XCTAssertEqual(decoded.clientInfo.clientProtocol, 0)  // RPC v1 only (no data streams)
        // Percent-escaped for the URL, and unescaping gives back the value.
        let escaped = Room.queryEscaped(encoded)
        XCTAssertFalse(escaped.contains("="))
        XCTAssertEqual(escaped.removingPercentEncoding, encoded)
    }

    func testPublishRequestAsInTheCapture() throws {
        // Capture: {"pub_handle": 1, "name": "imu"} and nothing else for a plain track.
        let request = SignalRequests.publishDataTrack(DataTrackPublication(handle: 1, name: "imu"))
        guard case .publishDataTrackRequest(let publish)? = request.message else { return XCTFail("wrong message") }
        XCTAssertEqual(publish.pubHandle, 1)
        XCTAssertEqual(publish.name, "imu")
        XCTAssertEqual(publish.encryption, .none)
        XCTAssertFalse(publish.hasFrameEncoding)
        XCTAssertFalse(publish.hasSchema)
        // Field numbers on the wire: 1 varint 1, 2 "imu".
        XCTAssertEqual(Array(try publish.serializedBytes() as [UInt8]), [0x08, 0x01, 0x12, 0x03, 0x69, 0x6d, 0x75])

        let encrypted = SignalRequests.publishDataTrack(
            DataTrackPublication(handle: 3, name: "cam", encrypted: true, frameEncoding: .json, schema: "Pose"))
        guard case .publishDataTrackRequest(let e)? = encrypted.message else { return XCTFail("wrong message") }
        XCTAssertEqual(e.encryption, .gcm)
        XCTAssertEqual(e.frameEncoding.wellKnown, .json)
        XCTAssertEqual(e.schema.name, "Pose")
        XCTAssertFalse(e.schema.hasEncoding, "no schema encoding given, none sent")

        // A schema id with its encoding: LiveKit's well-known value when it names one
        // (livekit_models.proto DataTrackSchemaEncoding), the name as custom otherwise.
        for (name, wire) in [("ros2msg", 4), ("protobuf", 1), ("jsonschema", 7)] {
            let r = SignalRequests.publishDataTrack(
                DataTrackPublication(handle: 2, name: "imu", frameEncoding: .cdr, schema: "sensor_msgs/msg/Imu", schemaEncoding: name))
            guard case .publishDataTrackRequest(let p)? = r.message else { return XCTFail("wrong message") }
            XCTAssertEqual(p.frameEncoding.wellKnown, .cdr)
            XCTAssertEqual(p.schema.encoding.wellKnown.rawValue, wire, name)
            XCTAssertEqual(DataTrackPublication.schemaEncodingName(p.schema.encoding), name)
        }
        let custom = SignalRequests.publishDataTrack(DataTrackPublication(handle: 2, name: "x", schema: "T", schemaEncoding: "capnp"))
        guard case .publishDataTrackRequest(let c)? = custom.message else { return XCTFail("wrong message") }
        XCTAssertEqual(c.schema.encoding.custom, "capnp")
        XCTAssertEqual(DataTrackPublication.schemaEncodingName(c.schema.encoding), "capnp")
        // Schema id {name 1: "T", encoding 2: {custom 2: "capnp"}} inside field 5.
        XCTAssertEqual(Array(try c.schema.serializedBytes() as [UInt8]),
                       [0x0a, 0x01, 0x54, 0x12, 0x07, 0x12, 0x05] + Array("capnp".utf8))
    }

    func testSubscriptionUnpublishPingLeaveTrickle() throws {
        let update = SignalRequests.updateDataSubscription(subscribe: true, trackSids: ["DTR_a", "DTR_b"])
        guard case .updateDataSubscription(let u)? = update.message else { return XCTFail("wrong message") }
        XCTAssertEqual(u.updates.map(\.trackSid), ["DTR_a", "DTR_b"])
        XCTAssertTrue(u.updates.allSatisfy(\.subscribe))

        guard case .unpublishDataTrackRequest(let un)? = SignalRequests.unpublishDataTrack(handle: 7).message else {
            return XCTFail("wrong message")
        }
        XCTAssertEqual(un.pubHandle, 7)

        guard case .pingReq(let ping)? = SignalRequests.ping(timestampMs: 1795697106333, rttMs: 15).message else {
            return XCTFail("wrong message")
        }
        XCTAssertEqual(ping.timestamp, 1795697106333)
        XCTAssertEqual(ping.rtt, 15)

        guard case .leave(let leave)? = SignalRequests.leave().message else { return XCTFail("wrong message") }
        XCTAssertEqual(leave.reason, .clientInitiated)

        let candidate = ICECandidateInit(candidate: "candidate:1 1 udp 2122260223 10.99.0.1 40432 typ host",
                                         sdpMid: "0", sdpMLineIndex: 0)
        guard case .trickle(let trickle)? = SignalRequests.trickle(candidate, target: .subscriber).message else {
            return XCTFail("wrong message")
        }
        XCTAssertEqual(trickle.target, .subscriber)
        XCTAssertEqual(try ICECandidateInit(json: trickle.candidateInit), candidate)

        guard case .answer(let answer)? = SignalRequests.sessionDescription("answer", sdp: "x", id: 4).message else {
            return XCTFail("wrong message")
        }
        XCTAssertEqual(answer.id, 4)
    }

    func testLegacyQueryAsTheSDK() {
        let query = Dictionary(uniqueKeysWithValues: SignalRequests.legacyQuery(autoSubscribe: true))
        XCTAssertEqual(query["auto_subscribe"], "1")
        XCTAssertEqual(query["protocol"], "18")
        XCTAssertEqual(query["client_protocol"], "0")
        XCTAssertEqual(query["adaptive_stream"], "0")
    }

    func testBaseURLNormalisation() throws {
        XCTAssertEqual(try Room.normalizedBaseURL("ws://10.99.0.1:7880/"), "ws://10.99.0.1:7880")
        XCTAssertEqual(try Room.normalizedBaseURL("http://h:1"), "ws://h:1")
        XCTAssertEqual(try Room.normalizedBaseURL("https://h"), "wss://h")
        XCTAssertThrowsError(try Room.normalizedBaseURL("ftp://h"))
        XCTAssertThrowsError(try Room.normalizedBaseURL("ws://"))
    }

    func testHTTPStatusLineParsing() {
        let response = HTTPStatusProbe.parse(Array("HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\n\r\ninvalid token".utf8))
        XCTAssertEqual(response, HTTPStatusProbe.Response(status: 401, body: "invalid token"))
        XCTAssertEqual(HTTPStatusProbe.parse(Array("HTTP/1.1 404 Not Found\r\n\r\n".utf8))?.status, 404)
        XCTAssertNil(HTTPStatusProbe.parse(Array("garbage".utf8)))
        XCTAssertNil(HTTPStatusProbe.parse([]))
    }

    func testPublicationFromTrackInfo() {
        var info = Livekit_DataTrackInfo()
        info.pubHandle = 70000
        XCTAssertNil(DataTrackPublication(info), "handle beyond u16")
        info.pubHandle = 0
        XCTAssertNil(DataTrackPublication(info), "handle 0 is invalid")
        info.pubHandle = 2
        info.sid = "DTR_x"
        info.name = "imu"
        info.encryption = .gcm
        var encoding = Livekit_DataTrackFrameEncoding()
        encoding.custom = "mine"
        info.frameEncoding = encoding
        XCTAssertEqual(DataTrackPublication(info),
                       DataTrackPublication(handle: 2, name: "imu", sid: "DTR_x", encrypted: true, frameEncoding: .custom("mine")))
        var schema = Livekit_DataTrackSchemaId()
        schema.name = "sensor_msgs/msg/Imu"
        schema.encoding.wellKnown = .ros2Msg
        info.schema = schema
        XCTAssertEqual(DataTrackPublication(info)?.schema, "sensor_msgs/msg/Imu")
        XCTAssertEqual(DataTrackPublication(info)?.schemaEncoding, "ros2msg")
    }
}

/// The URLs the client opens, read back by the server-side parser (`SignalConnectRequest`).
final class SignalTargetTests: XCTestCase {
    func testServerReadsOurSinglePeerConnectionURL() throws {
        let target = SignalRequests.singlePeerConnectionTarget(publisherOffer: "v=0\r\no=- 1 1 IN IP4 0.0.0.0", autoSubscribe: true)
        let parsed = try SignalConnectRequest.parse(target: target, authorization: "Bearer tok")
        XCTAssertEqual(parsed.path, .rtcV1)
        XCTAssertEqual(parsed.token, "tok")
        XCTAssertEqual(parsed.join.publisherOffer.sdp, "v=0\r\no=- 1 1 IN IP4 0.0.0.0")
        XCTAssertEqual(parsed.join.clientInfo.sdk, .swift)
    }

    func testServerReadsOurTwoPeerConnectionsURL() throws {
        let parsed = try SignalConnectRequest.parse(target: SignalRequests.twoPeerConnectionsTarget(autoSubscribe: false),
                                                    authorization: "Bearer tok")
        XCTAssertEqual(parsed.path, .rtc)
        XCTAssertFalse(parsed.join.connectionSettings.autoSubscribe)
        XCTAssertEqual(parsed.join.clientInfo.protocol, 18)
        XCTAssertEqual(parsed.join.clientInfo.sdk, .swift)
    }
}
