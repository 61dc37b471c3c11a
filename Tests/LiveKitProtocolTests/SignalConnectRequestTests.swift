import Foundation
import XCTest
@testable import LiveKitProtocol

final class SignalConnectRequestTests: XCTestCase {
    /// The `/rtc` query the SDK sent in the `dual-pc` capture, rebuilt as a request target.
    func testLegacyQueryFromCapture() throws {
        let http = try XCTUnwrap(try SharedTestVectors.signalSequence("dual-pc").first { $0["dir"] as? String == "HTTP" })
        XCTAssertEqual(http["path"] as? String, "/rtc")
        let query = try XCTUnwrap(http["query"] as? [String: String])
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let target = "/rtc?" + query.sorted { $0.key < $1.key }.map {
            "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed)!)"
        }.joined(separator: "&")

        let request = try SignalConnectRequest.parse(target: target, authorization: "Bearer abc.def.ghi")
        XCTAssertEqual(request.path, .rtc)
        XCTAssertFalse(request.isValidation)
        XCTAssertEqual(request.token, "abc.def.ghi")
        XCTAssertEqual(request.join.clientInfo.sdk, .python)
        XCTAssertEqual(request.join.clientInfo.version, "1.2.1")
        XCTAssertEqual(request.join.clientInfo.protocol, 18)
        XCTAssertEqual(request.join.clientInfo.clientProtocol, 2)
        XCTAssertEqual(request.join.clientInfo.os, "Debian")
        XCTAssertEqual(request.join.clientInfo.capabilities, [.capPacketTrailer, .capCompressionDeflateRaw])
        XCTAssertTrue(request.join.connectionSettings.autoSubscribe)
        XCTAssertFalse(request.join.connectionSettings.adaptiveStream)
        XCTAssertFalse(request.join.reconnect)
    }

    func testV1WithJoinRequestAndAccessTokenParameter() throws {
        var join = Livekit_JoinRequest()
        join.publisherOffer.type = "offer"
        join.publisherOffer.sdp = "v=0\r\n"
        join.reconnect = true
        join.participantSid = "PA_x"
        let value = JoinRequestQuery.encode(join, gzip: true)
        let escaped = value.replacingOccurrences(of: "=", with: "%3D")
        let request = try SignalConnectRequest.parse(target: "/rtc/v1?access_token=t0k&join_request=\(escaped)", authorization: nil)
        XCTAssertEqual(request.path, .rtcV1)
        XCTAssertEqual(request.token, "t0k")
        XCTAssertEqual(request.join, join)
        // The header wins over the parameter, as the SDKs send only one of them anyway.
        XCTAssertEqual(try SignalConnectRequest.parse(target: "/rtc/v1?access_token=a&join_request=\(escaped)",
                                                      authorization: "Bearer b").token, "b")
    }

    func testValidatePathsAndReconnect() throws {
        let v0 = try SignalConnectRequest.parse(target: "/rtc/validate?reconnect=1&sid=PA_1&reconnect_reason=1&auto_subscribe=0",
                                                authorization: nil)
        XCTAssertEqual(v0.path, .rtc)
        XCTAssertTrue(v0.isValidation)
        XCTAssertNil(v0.token)
        XCTAssertTrue(v0.join.reconnect)
        XCTAssertEqual(v0.join.participantSid, "PA_1")
        XCTAssertEqual(v0.join.reconnectReason, .rrSignalDisconnected)
        XCTAssertFalse(v0.join.connectionSettings.autoSubscribe)

        let v1 = try SignalConnectRequest.parse(target: "/rtc/v1/validate?join_request=\(JoinRequestQuery.encode(Livekit_JoinRequest()))",
                                                authorization: nil)
        XCTAssertEqual(v1.path, .rtcV1)
        XCTAssertTrue(v1.isValidation)
    }

    func testRejections() {
        let cases: [(String, String)] = [
            ("/rtc/v2", "unknown path"),
            ("/other?x=1", "unknown path"),
            ("/rtc/v1", "without join_request"),
            ("/rtc?protocol=abc", "not an integer"),
            ("/rtc?a=%zz", "percent-encoding"),
        ]
        for (target, reason) in cases {
            XCTAssertThrowsError(try SignalConnectRequest.parse(target: target, authorization: nil), target) {
                guard case .malformedConnectRequest(let found)? = $0 as? LiveKitProtocolError else { return XCTFail("\($0)") }
                XCTAssertTrue(found.contains(reason), "\(target): \(found)")
            }
        }
        XCTAssertThrowsError(try SignalConnectRequest.parse(target: "/rtc/v1?join_request=!!", authorization: nil)) {
            guard case .malformedJoinRequest? = $0 as? LiveKitProtocolError else { return XCTFail("\($0)") }
        }
    }

    func testSignalFrames() throws {
        var ping = Livekit_SignalRequest()
        ping.pingReq = Livekit_Ping.with { $0.timestamp = 1_795_697_101_334; $0.rtt = 15 }
        let bytes = SignalFrame.encode(ping)
        XCTAssertEqual(try SignalFrame.decodeRequest(bytes), ping)

        var pong = Livekit_SignalResponse()
        pong.pongResp = Livekit_Pong.with { $0.lastPingTimestamp = 1_795_697_101_334; $0.timestamp = 1_795_697_101_347 }
        XCTAssertEqual(try SignalFrame.decodeResponse(SignalFrame.encode(pong)), pong)

        // Every truncated prefix of a real frame is an error or a shorter valid message, never a crash.
        var join = Livekit_SignalResponse()
        join.join.room.name = "lab"
        join.join.participant.identity = "me"
        let full = SignalFrame.encode(join)
        for length in 0..<full.count {
            _ = try? SignalFrame.decodeResponse(Array(full.prefix(length)))
        }
        XCTAssertThrowsError(try SignalFrame.decodeResponse(Array(full.prefix(full.count - 1)))) {
            guard case .malformedSignalFrame(let message, _)? = $0 as? LiveKitProtocolError else { return XCTFail("\($0)") }
            XCTAssertEqual(message, "SignalResponse")
        }
    }
}
