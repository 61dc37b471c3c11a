import Foundation
import LiveKitProtocol
import XCTest
@testable import RoomServer

/// Token and join-query checks: every token failure is HTTP 401 with its reason, as
/// livekit-server answers a refused join.
final class JoinParametersTests: XCTestCase {
    let keys = ["devkey": "secret"]
    let now = Date(timeIntervalSince1970: 1_750_000_000)

    private func token(key: String = "devkey", secret: String = "secret", nbf: Int64? = 1_749_999_000,
                       exp: Int64? = 1_750_003_600, grant: VideoGrant? = VideoGrant(roomJoin: true, room: "lab")) throws -> String {
        let claims = AccessTokenClaims(apiKey: key, identity: "robot", notBefore: nbf, expiry: exp, video: grant)
        return try AccessToken.sign(claims, secret: secret)
    }

    private func parse(_ token: String?, header: Bool = true, query: [String: String] = [:],
                       path: JoinParameters.Path = .dualPeerConnection) throws(RoomServerError) -> JoinParameters {
        var query = query
        if let token, !header { query["access_token"] = token }
        return try JoinParameters.parse(path: path, query: query, authorization: header ? token.map { "Bearer \($0)" } : nil,
                                        keys: keys, now: now)
    }

    private func assertRefused(_ body: () throws -> Void, status: Int, containing text: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        do {
            try body()
            XCTFail("accepted", file: file, line: line)
        } catch let error as RoomServerError {
            XCTAssertEqual(error.httpStatus, status, "\(error)", file: file, line: line)
            XCTAssertTrue(error.description.contains(text), "\(error)", file: file, line: line)
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }

    private func refusal(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    func testValidTokenFromHeaderOrQuery() throws {
        let good = try token()
        XCTAssertEqual(try parse(good).room, "lab")
        XCTAssertEqual(try parse(good, header: false).claims.identity, "robot")
        let parsed = try parse(good, query: ["auto_subscribe": "0", "reconnect": "1", "sdk": "python", "protocol": "16"])
        XCTAssertFalse(parsed.autoSubscribe)
        XCTAssertTrue(parsed.reconnect)
        XCTAssertEqual(parsed.clientInfo.sdk, .python)
        XCTAssertEqual(parsed.clientInfo.protocol, 16)
    }

    func testTokenFailuresAre401WithReason() throws {
        assertRefused({ _ = try parse(nil) }, status: 401, containing: "no access token")
        // An unknown key and a bad signature get one and the same answer.
        assertRefused({ _ = try parse(try token(secret: "other")) }, status: 401, containing: "signature")
        assertRefused({ _ = try parse(try token(key: "stranger", secret: "x")) }, status: 401, containing: "signature")
        XCTAssertEqual(refusal { _ = try parse(try token(secret: "other")) },
                       refusal { _ = try parse(try token(key: "stranger", secret: "x")) })
        assertRefused({ _ = try parse(try token(exp: nil)) }, status: 401, containing: "no exp")
        // One minute of leeway either side.
        XCTAssertNoThrow(try parse(try token(exp: 1_750_000_000 - 59)))
        assertRefused({ _ = try parse(try token(exp: 1_750_000_000 - 61)) }, status: 401, containing: "expired")
        XCTAssertNoThrow(try parse(try token(nbf: 1_750_000_000 + 59)))
        assertRefused({ _ = try parse(try token(nbf: 1_750_000_000 + 61)) }, status: 401, containing: "not valid before")
        assertRefused({ _ = try parse(try token(grant: VideoGrant(room: "lab"))) }, status: 401, containing: "roomJoin")
        assertRefused({ _ = try parse(try token(grant: VideoGrant(roomJoin: true))) }, status: 401, containing: "no room")
        assertRefused({ _ = try parse("not.a.token") }, status: 401, containing: "malformed")
    }

    func testSinglePeerConnectionJoinRequest() throws {
        let good = try token()
        var request = Livekit_JoinRequest()
        request.publisherOffer.type = "offer"
        request.publisherOffer.sdp = "v=0"
        request.publisherOffer.id = 7
        request.connectionSettings.autoSubscribe = true
        request.reconnect = false
        for gzip in [false, true] {
            let parsed = try parse(good, query: ["join_request": JoinRequestQuery.encode(request, gzip: gzip)],
                                   path: .singlePeerConnection)
            XCTAssertEqual(parsed.publisherOffer?.id, 7)
            XCTAssertEqual(parsed.path, .singlePeerConnection)
        }
        assertRefused({ _ = try parse(good, path: .singlePeerConnection) }, status: 400, containing: "join_request")
        assertRefused({ _ = try parse(good, query: ["join_request": "%%%"], path: .singlePeerConnection) },
                      status: 400, containing: "join_request")
    }

    /// livekit-server `ValidateConnectRequest`: join-request metadata or attributes need the
    /// canUpdateOwnMetadata grant; with it they apply over the token's, empty values skipped.
    func testJoinRequestMetadataAndAttributesNeedTheGrant() throws {
        func signed(updateMetadata: Bool?) throws -> String {
            var grant = VideoGrant(roomJoin: true, room: "lab")
            grant.canUpdateOwnMetadata = updateMetadata
            let claims = AccessTokenClaims(apiKey: "devkey", identity: "robot", notBefore: 1_749_999_000,
                                           expiry: 1_750_003_600, metadata: "signed",
                                           attributes: ["role": "robot", "keep": "yes"], video: grant)
            return try AccessToken.sign(claims, secret: "secret")
        }
        func query(metadata: String = "", attributes: [String: String] = [:]) -> [String: String] {
            var request = Livekit_JoinRequest()
            request.clientInfo.protocol = 16
            request.metadata = metadata
            request.participantAttributes = attributes
            return ["join_request": JoinRequestQuery.encode(request)]
        }
        let plain = try signed(updateMetadata: nil)
        // Nothing asked: the token's values stand.
        let untouched = try parse(plain, query: query(), path: .singlePeerConnection)
        XCTAssertEqual(untouched.metadata, "signed")
        XCTAssertEqual(untouched.attributes, ["role": "robot", "keep": "yes"])
        assertRefused({ _ = try parse(plain, query: query(metadata: "forged"), path: .singlePeerConnection) },
                      status: 401, containing: "canUpdateOwnMetadata")
        assertRefused({ _ = try parse(plain, query: query(attributes: ["role": "admin"]), path: .singlePeerConnection) },
                      status: 401, containing: "canUpdateOwnMetadata")
        assertRefused({ _ = try parse(try signed(updateMetadata: false), query: query(metadata: "forged"),
                                      path: .singlePeerConnection) }, status: 401, containing: "canUpdateOwnMetadata")

        let allowed = try parse(try signed(updateMetadata: true),
                                query: query(metadata: "asked", attributes: ["role": "admin", "keep": "", "extra": "1"]),
                                path: .singlePeerConnection)
        XCTAssertEqual(allowed.metadata, "asked")
        XCTAssertEqual(allowed.attributes, ["role": "admin", "keep": "yes", "extra": "1"])

        // `/rtc`: attributes in the `attributes` parameter (base64url JSON), same rule.
        let encoded = Data(#"{"role":"admin"}"#.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        assertRefused({ _ = try parse(plain, query: ["attributes": encoded]) }, status: 401, containing: "canUpdateOwnMetadata")
        XCTAssertEqual(try parse(try signed(updateMetadata: true), query: ["attributes": encoded]).attributes,
                       ["role": "admin", "keep": "yes"])
        assertRefused({ _ = try parse(plain, query: ["attributes": "%%"]) }, status: 400, containing: "attributes")
    }
}
