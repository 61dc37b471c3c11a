import Codecs
import Foundation
import SwiftProtobuf
import XCTest
@testable import LiveKitProtocol

final class JoinRequestQueryTests: XCTestCase {
    /// A join request as the Python SDK sends it (client info from the `plain` capture, the
    /// captured single-peer-connection offer).
    private func sdkLikeRequest() throws -> Livekit_JoinRequest {
        var request = Livekit_JoinRequest()
        request.clientInfo.sdk = .python
        request.clientInfo.version = "1.2.1"
        request.clientInfo.protocol = 18
        request.clientInfo.os = "Debian"
        request.clientInfo.clientProtocol = 2
        request.clientInfo.capabilities = [.capPacketTrailer, .capCompressionDeflateRaw]
        request.connectionSettings.autoSubscribe = true
        request.publisherOffer.type = "offer"
        request.publisherOffer.sdp = try SharedTestVectors.text("plain", "publisher-offer-single-pc.sdp")
        return request
    }

    func testRoundTripPaddedUnpaddedGzipAndNot() throws {
        let request = try sdkLikeRequest()
        for gzip in [false, true] {
            let padded = JoinRequestQuery.encode(request, gzip: gzip)
            XCTAssertEqual(padded.utf8.count % 4, 0)
            XCTAssertFalse(padded.contains("+") || padded.contains("/"), "URL alphabet only")
            let unpadded = padded.trimmingCharacters(in: CharacterSet(charactersIn: "="))
            for text in [padded, unpadded] {
                XCTAssertEqual(try JoinRequestQuery.decode(text), request, "gzip=\(gzip)")
            }
        }
        // The SDP offer is ~14 KB of repetitive text: gzip must actually shrink it.
        XCTAssertLessThan(JoinRequestQuery.encode(request, gzip: true).count,
                          JoinRequestQuery.encode(request, gzip: false).count / 2)
    }

    /// Bytes assembled by hand: WrappedJoinRequest{compression NONE, join_request: JoinRequest{
    /// connection_settings{auto_subscribe: true}}}.
    func testHandAssembledWrappedRequest() throws {
        let wrapped: [UInt8] = [
            0x12, 0x04,       // WrappedJoinRequest.join_request (2), LEN 4
            0x12, 0x02,       //   JoinRequest.connection_settings (2), LEN 2
            0x08, 0x01,       //     auto_subscribe = true
        ]
        let request = try JoinRequestQuery.decode(Base64.encodeURL(wrapped))
        XCTAssertTrue(request.connectionSettings.autoSubscribe)
    }

    func testMalformedValuesNameTheFailingStage() throws {
        func stage(_ value: String) -> String? {
            do {
                _ = try JoinRequestQuery.decode(value)
                return nil
            } catch {
                guard case .malformedJoinRequest(let stage, _) = error else { return "other" }
                return stage
            }
        }
        XCTAssertEqual(stage("not base64!"), "base64url")
        XCTAssertEqual(stage(Base64.encodeURL([0x12, 0x09, 0x01])), "WrappedJoinRequest")        // LEN past the end
        XCTAssertEqual(stage(Base64.encodeURL([0x08, 0x05])), "WrappedJoinRequest")              // compression 5
        XCTAssertEqual(stage(Base64.encodeURL([0x12, 0x02, 0x0A, 0x09])), "JoinRequest")         // inner truncated
        XCTAssertEqual(stage(Base64.encodeURL([0x08, 0x01, 0x12, 0x03, 0x1F, 0x8B, 0x08])), "gzip")

        // A truncated gzip stream of a real request.
        var wrapped = Livekit_WrappedJoinRequest()
        wrapped.compression = .gzip
        let full = Gzip.compress(try sdkLikeRequest().serializedBytes())
        wrapped.joinRequest = Data(full.prefix(full.count / 2))
        XCTAssertEqual(stage(Base64.encodeURL(try wrapped.serializedBytes() as [UInt8])), "gzip")

        // A decompression bomb: 2 MiB of zeros compress to ~2 KB but exceed the 1 MiB limit.
        wrapped.joinRequest = Data(Gzip.compress([UInt8](repeating: 0, count: 2 << 20)))
        XCTAssertLessThan(wrapped.joinRequest.count, 10_000)
        XCTAssertEqual(stage(Base64.encodeURL(try wrapped.serializedBytes() as [UInt8])), "gzip")
    }

    func testGzipDecompressErrors() {
        XCTAssertThrowsError(try Gzip.decompress([1, 2, 3, 4], limit: 100))
        XCTAssertEqual(try Gzip.decompress(Gzip.compress(Array("hello".utf8)), limit: 5), Array("hello".utf8))
        XCTAssertThrowsError(try Gzip.decompress(Gzip.compress(Array("hello!".utf8)), limit: 5)) {
            XCTAssertEqual($0 as? Gzip.Failure, .tooLarge(limit: 5))
        }
    }
}

/// A `join_request` the official Python SDK (livekit 1.2.1) really sent, recorded by the stub
/// listener of `Tests/interop/test_join_request.py`, with LiveKit's own decoding of it
/// (`MessageToDict` over the `livekit-protocol` descriptors) beside it in `Tests/fixtures/`.
final class SDKJoinRequestTests: XCTestCase {
    private func fixture(_ name: String, file: StaticString = #filePath) throws -> Data {
        let root = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
        return try Data(contentsOf: root.appendingPathComponent("fixtures/livekit-protocol/\(name)"))
    }

    func testDecodesTheSDKsGzippedJoinRequestLikeLiveKit() throws {
        let value = String(decoding: try fixture("python-sdk-1.2.1-join-request.txt"), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(value.utf8.count % 4, 0, "the SDK pads its base64url (URL_SAFE)")
        let wrapped = try Livekit_WrappedJoinRequest(serializedBytes: try XCTUnwrap(Base64.decodeURL(value)))
        XCTAssertEqual(wrapped.compression, .gzip, "the SDK gzips its join request")

        let request = try JoinRequestQuery.decode(value)
        XCTAssertEqual(request.clientInfo.sdk, .python)
        XCTAssertEqual(request.publisherOffer.type, "offer")
        XCTAssertTrue(request.publisherOffer.sdp.contains("m=application"))
        XCTAssertTrue(request.unknownFields.data.isEmpty, "every field the SDK sent is in our subset")

        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        let ours = try JSONSerialization.jsonObject(with: Data(try request.jsonString(options: options).utf8)) as? NSDictionary
        let theirs = try JSONSerialization.jsonObject(with: try fixture("python-sdk-1.2.1-join-request.json")) as? NSDictionary
        XCTAssertNotNil(theirs)
        XCTAssertEqual(ours, theirs)
    }
}
