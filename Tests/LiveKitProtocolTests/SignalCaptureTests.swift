import Foundation
import SwiftProtobuf
import XCTest
@testable import LiveKitProtocol

/// Every signal message the official SDK (livekit 1.2.1) exchanged in the captures, decoded with
/// our generated types. The capture tool printed them with LiveKit's own Python descriptors
/// (`MessageToDict`, proto field names), so decoding each body as the oneof case named by its
/// `type`, re-encoding it the same way and getting the same JSON back shows our messages have
/// the SDK's names and shapes; the binary round trip shows they survive the wire.
final class SignalCaptureTests: XCTestCase {
    private let jsonOptions: JSONEncodingOptions = {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        return options
    }()

    func testEveryCapturedSignalMessageDecodesAndRoundTrips() throws {
        var seen: [String: Int] = [:]
        for capture in SharedTestVectors.captures {
            for line in try SharedTestVectors.signalSequence(capture) {
                guard let dir = line["dir"] as? String, dir.hasPrefix("C->S") || dir == "S->C",
                      let type = line["type"] as? String, let body = line["body"] else { continue }
                let context = "\(capture) t=\(line["t"] ?? "?") \(dir) \(type)"
                let bodyJSON = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
                let reencoded: String
                if type == "join_request" {
                    let request = try Livekit_JoinRequest(jsonString: bodyJSON)
                    XCTAssertEqual(request.clientInfo.sdk, .python, context)
                    XCTAssertEqual(try Livekit_JoinRequest(serializedBytes: try request.serializedBytes() as [UInt8]), request)
                    reencoded = try request.jsonString(options: jsonOptions)
                } else if dir.hasPrefix("C->S") {
                    let request = try Livekit_SignalRequest(jsonString: "{\"\(type)\":\(bodyJSON)}")
                    XCTAssertNotNil(request.message, "\(context): oneof case not recognised")
                    XCTAssertEqual(try Livekit_SignalRequest(serializedBytes: try request.serializedBytes() as [UInt8]), request)
                    reencoded = try request.jsonString(options: jsonOptions)
                } else {
                    let response = try Livekit_SignalResponse(jsonString: "{\"\(type)\":\(bodyJSON)}")
                    XCTAssertNotNil(response.message, "\(context): oneof case not recognised")
                    XCTAssertEqual(try Livekit_SignalResponse(serializedBytes: try response.serializedBytes() as [UInt8]), response)
                    reencoded = try response.jsonString(options: jsonOptions)
                }
                let expected: Any = type == "join_request" ? body : [type: body]
                let actual = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(reencoded.utf8)) as? NSDictionary)
                XCTAssertEqual(actual, try XCTUnwrap(expected as? NSDictionary), context)
                seen[type, default: 0] += 1
            }
        }
        // The captures hold every message of the data-track flow; make sure none was skipped.
        for type in ["join_request", "join", "offer", "answer", "trickle", "ping_req", "pong_resp", "update",
                     "publish_data_track_request", "publish_data_track_response", "update_data_subscription",
                     "data_track_subscriber_handles", "unpublish_data_track_request",
                     "unpublish_data_track_response", "leave"] {
            XCTAssertGreaterThan(seen[type] ?? 0, 0, "no captured \(type)")
        }
    }

    /// Spot checks on what the server side must produce and read, from the `plain` capture.
    func testDataTrackMessagesCarryTheCapturedValues() throws {
        let lines = try SharedTestVectors.signalSequence("plain")
        func message(_ type: String) throws -> String {
            let line = try XCTUnwrap(lines.first { $0["type"] as? String == type }, type)
            let body = try JSONSerialization.data(withJSONObject: try XCTUnwrap(line["body"]))
            return "{\"\(type)\":\(String(decoding: body, as: UTF8.self))}"
        }
        let publish = try Livekit_SignalRequest(jsonString: message("publish_data_track_request"))
        guard case .publishDataTrackRequest(let request)? = publish.message else { return XCTFail("\(publish)") }
        XCTAssertEqual(request.pubHandle, 1)
        XCTAssertEqual(request.name, "imu")
        XCTAssertFalse(request.hasFrameEncoding)

        let handles = try Livekit_SignalResponse(jsonString: message("data_track_subscriber_handles"))
        guard case .dataTrackSubscriberHandles(let snapshot)? = handles.message else { return XCTFail("\(handles)") }
        XCTAssertEqual(snapshot.subHandles[7]?.publisherIdentity, "pub1")
        XCTAssertEqual(snapshot.subHandles[7]?.trackSid, "DTR_TlocyUrh32")

        let join = try Livekit_SignalResponse(jsonString: message("join"))
        guard case .join(let response)? = join.message else { return XCTFail("\(join)") }
        XCTAssertEqual(response.pingInterval, 5)
        XCTAssertEqual(response.pingTimeout, 15)
        XCTAssertTrue(response.room.sid.hasPrefix("RM_"))
        XCTAssertEqual(response.participant.state, .joined)
        XCTAssertTrue(response.participant.permission.canPublishData)

        let leave = try Livekit_SignalRequest(jsonString: message("leave"))
        guard case .leave(let request)? = leave.message else { return XCTFail("\(leave)") }
        XCTAssertEqual(request.reason, .clientInitiated)
    }
}
