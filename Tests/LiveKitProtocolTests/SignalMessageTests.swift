import Foundation
import SwiftProtobuf
import XCTest
@testable import LiveKitProtocol

/// Wire-level checks of the generated messages: field numbers seen from the bytes.
final class SignalMessageTests: XCTestCase {
    func testJoinResponseWithDataTracksRoundTrips() throws {
        var track = Livekit_DataTrackInfo()
        track.pubHandle = 3
        track.sid = "DTR_abc"
        track.name = "lidar"
        track.encryption = .gcm
        var encoding = Livekit_DataTrackFrameEncoding()
        encoding.value = .wellKnown(.cdr)
        track.frameEncoding = encoding
        var schema = Livekit_DataTrackSchemaId()
        schema.name = "sensor_msgs/PointCloud2"
        schema.encoding.value = .wellKnown(.ros2Msg)
        track.schema = schema

        var other = Livekit_ParticipantInfo()
        other.sid = "PA_other"
        other.identity = "robot"
        other.state = .active
        other.dataTracks = [track]
        other.version = 7

        var join = Livekit_JoinResponse()
        join.room.sid = "RM_room"
        join.room.name = "lab"
        join.participant.sid = "PA_me"
        join.participant.identity = "me"
        join.participant.state = .joined
        join.participant.permission = VideoGrant().participantPermission
        join.otherParticipants = [other]
        join.pingInterval = 5
        join.pingTimeout = 15
        join.serverVersion = "1.9.0"
        join.serverInfo.version = "1.9.0"
        join.serverInfo.protocol = 16

        var response = Livekit_SignalResponse()
        response.join = join
        let bytes: [UInt8] = try response.serializedBytes()
        XCTAssertEqual(bytes.first, 0x0A, "SignalResponse.join is field 1, length-delimited")
        let decoded = try Livekit_SignalResponse(serializedBytes: bytes)
        XCTAssertEqual(decoded, response)
        XCTAssertEqual(decoded.join.otherParticipants.first?.dataTracks.first?.schema.name, "sensor_msgs/PointCloud2")
        XCTAssertEqual(decoded.join.otherParticipants.first?.dataTracks.first?.frameEncoding.wellKnown, .cdr)
    }

    /// Hand-assembled bytes, one comment per field, checked against our decoding.
    func testDataTrackRequestsFromHandAssembledBytes() throws {
        let publish: [UInt8] = [
            0x9A, 0x01, 0x07,          // SignalRequest field 19 (publish_data_track_request), LEN 7
            0x08, 0x01,                //   pub_handle = 1
            0x12, 0x03, 0x69, 0x6D, 0x75, //   name = "imu"
        ]
        guard case .publishDataTrackRequest(let request)? = try Livekit_SignalRequest(serializedBytes: publish).message else {
            return XCTFail("not a publish_data_track_request")
        }
        XCTAssertEqual(request.pubHandle, 1)
        XCTAssertEqual(request.name, "imu")

        let subscribe: [UInt8] = [
            0xAA, 0x01, 0x0A,          // SignalRequest field 21 (update_data_subscription), LEN 10
            0x0A, 0x08,                //   updates[0], LEN 8
            0x0A, 0x04, 0x44, 0x54, 0x52, 0x5F, //     track_sid = "DTR_"
            0x10, 0x01,                //     subscribe = true
        ]
        guard case .updateDataSubscription(let update)? = try Livekit_SignalRequest(serializedBytes: subscribe).message else {
            return XCTFail("not an update_data_subscription")
        }
        XCTAssertEqual(update.updates.first?.trackSid, "DTR_")
        XCTAssertEqual(update.updates.first?.subscribe, true)

        var failure = Livekit_RequestResponse()
        failure.reason = .duplicateName
        failure.publishDataTrack = request
        var response = Livekit_SignalResponse()
        response.requestResponse = failure
        let bytes: [UInt8] = try response.serializedBytes()
        XCTAssertEqual(bytes, [
            0xB2, 0x01, 0x0B,          // SignalResponse field 22 (request_response), LEN 11
            0x10, 0x0A,                //   reason = DUPLICATE_NAME (10)
            0x52, 0x07,                //   publish_data_track (10), LEN 7: the request echoed
            0x08, 0x01, 0x12, 0x03, 0x69, 0x6D, 0x75,
        ])
    }

    /// A message using a oneof case our subset leaves out keeps its bytes as unknown fields, so
    /// a server that forwards it loses nothing.
    func testLeftOutCasesSurviveAsUnknownFields() throws {
        // SignalResponse field 12 (connection_quality), LEN 2, nested bytes 0x0A 0x00.
        let bytes: [UInt8] = [0x62, 0x02, 0x0A, 0x00]
        let response = try Livekit_SignalResponse(serializedBytes: bytes)
        XCTAssertNil(response.message)
        XCTAssertEqual(try response.serializedBytes() as [UInt8], bytes)
    }

    /// Forwarding a `_reliable` DataPacket: the server stamps the sender, keeps everything else.
    func testDataPacketForwardingKeepsUnknownContent() throws {
        var packet = Livekit_DataPacket()
        packet.kind = .reliable
        packet.destinationIdentities = ["b"]
        var user = Livekit_UserPacket()
        user.payload = Data([1, 2, 3])
        user.topic = "chat"
        packet.user = user
        var bytes: [UInt8] = try packet.serializedBytes()
        bytes += [0x42, 0x01, 0x00]   // field 8 (metrics, not in our subset), LEN 1
        var forwarded = try Livekit_DataPacket(serializedBytes: bytes)
        forwarded.participantIdentity = "a"
        let again = try Livekit_DataPacket(serializedBytes: try forwarded.serializedBytes() as [UInt8])
        XCTAssertEqual(again.participantIdentity, "a")
        XCTAssertEqual(again.user.payload, Data([1, 2, 3]))
        XCTAssertEqual(again.user.topic, "chat")
        XCTAssertEqual(again.unknownFields.data, Data([0x42, 0x01, 0x00]))
    }

    func testMalformedBytesAreErrorsNotCrashes() {
        let cases: [[UInt8]] = [[0x0A], [0x0A, 0x05, 0x01], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], [0x07]]
        for bytes in cases {
            XCTAssertThrowsError(try Livekit_SignalResponse(serializedBytes: bytes), "\(bytes)")
        }
    }
}
