import LiveKitProtocol
import XCTest
@testable import RoomServer

/// The publish checks of signal request 19, in livekit-server's order.
final class DataTrackPublishCheckTests: XCTestCase {
    private func request(handle: UInt32, name: String, customEncoding: String? = nil) -> Livekit_PublishDataTrackRequest {
        var request = Livekit_PublishDataTrackRequest()
        request.pubHandle = handle
        request.name = name
        if let customEncoding {
            var encoding = Livekit_DataTrackFrameEncoding()
            encoding.value = .custom(customEncoding)
            request.frameEncoding = encoding
        }
        return request
    }

    private func track(handle: UInt32, name: String) -> Livekit_DataTrackInfo {
        var info = Livekit_DataTrackInfo()
        info.pubHandle = handle
        info.name = name
        info.sid = "DTR_x"
        return info
    }

    func testTable() {
        let existing = [track(handle: 1, name: "imu")]
        let cases: [(String, Livekit_PublishDataTrackRequest, Bool, Livekit_RequestResponse.Reason?)] = [
            ("accepted", request(handle: 2, name: "gps"), true, nil),
            ("no grant", request(handle: 2, name: "gps"), false, .notAllowed),
            ("grant checked first", request(handle: 0, name: ""), false, .notAllowed),
            ("handle 0", request(handle: 0, name: "gps"), true, .invalidHandle),
            ("handle 65536", request(handle: 65536, name: "gps"), true, .invalidHandle),
            ("handle 65535", request(handle: 65535, name: "gps"), true, nil),
            ("empty name", request(handle: 2, name: ""), true, .invalidName),
            ("257-byte name", request(handle: 2, name: String(repeating: "n", count: 257)), true, .invalidName),
            ("256-byte name", request(handle: 2, name: String(repeating: "n", count: 256)), true, nil),
            ("name counted in UTF-8 bytes", request(handle: 2, name: String(repeating: "é", count: 129)), true, .invalidName),
            ("empty custom encoding", request(handle: 2, name: "gps", customEncoding: ""), true, .invalidRequest),
            ("33-byte custom encoding", request(handle: 2, name: "gps", customEncoding: String(repeating: "c", count: 33)), true, .invalidRequest),
            ("32-byte custom encoding", request(handle: 2, name: "gps", customEncoding: String(repeating: "c", count: 32)), true, nil),
            ("duplicate handle", request(handle: 1, name: "gps"), true, .duplicateHandle),
            ("duplicate name", request(handle: 2, name: "imu"), true, .duplicateName),
            ("both duplicate: handle first", request(handle: 1, name: "imu"), true, .duplicateHandle),
        ]
        for (label, request, granted, expected) in cases {
            let refusal = DataTrackPublishCheck.refusal(of: request, canPublishData: granted, existing: existing)
            XCTAssertEqual(refusal?.reason, expected, label)
        }
    }

    func testRefusalEchoesTheRequest() {
        let request = request(handle: 0, name: "gps")
        let refusal = DataTrackPublishCheck.refusal(of: request, canPublishData: true, existing: [])
        guard let response = refusal?.response(to: request), case .requestResponse(let body)? = response.message else {
            return XCTFail("expected a RequestResponse")
        }
        XCTAssertEqual(body.reason, .invalidHandle)
        XCTAssertEqual(body.request, .publishDataTrack(request))
        XCTAssertFalse(body.message.isEmpty)
    }
}
