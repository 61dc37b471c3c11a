import Codecs
import Foundation
import XCTest
@testable import LiveKitProtocol

final class AccessTokenTests: XCTestCase {
    /// Made by PyJWT 2.15.1 (what livekit-api uses) with keys in sorted order:
    /// `jwt.encode({"exp": 1800000000, "iss": "devkey", "name": "Robot One", "nbf": 1700000000,
    ///   "sub": "robot-1", "video": {"canPublishData": False, "room": "lab", "roomJoin": True}},
    ///   "secret", algorithm="HS256")`.
    let pyjwtToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        + "eyJleHAiOjE4MDAwMDAwMDAsImlzcyI6ImRldmtleSIsIm5hbWUiOiJSb2JvdCBPbmUiLCJuYmYiOjE3MDAwMDAwMDAs"
        + "InN1YiI6InJvYm90LTEiLCJ2aWRlbyI6eyJjYW5QdWJsaXNoRGF0YSI6ZmFsc2UsInJvb20iOiJsYWIiLCJyb29tSm9pbiI6dHJ1ZX19."
        + "amwy_GEbaWTA4AsgFLKvc3HPhvlGP5uk-pVK0tNEdRk"
    let keys = ["devkey": "secret"]
    let during = Date(timeIntervalSince1970: 1_750_000_000)

    func testSigningReproducesPyJWTByteForByte() throws {
        let claims = AccessTokenClaims(
            apiKey: "devkey", identity: "robot-1", notBefore: 1_700_000_000, expiry: 1_800_000_000,
            name: "Robot One", video: VideoGrant(roomJoin: true, room: "lab", canPublishData: false))
        XCTAssertEqual(try AccessToken.sign(claims, secret: "secret"), pyjwtToken)
    }

    func testVerifiesPyJWTToken() throws {
        let claims = try AccessToken.verify(pyjwtToken, keys: keys, now: during)
        XCTAssertEqual(claims.apiKey, "devkey")
        XCTAssertEqual(claims.identity, "robot-1")
        XCTAssertEqual(claims.name, "Robot One")
        XCTAssertEqual(claims.notBefore, 1_700_000_000)
        XCTAssertEqual(claims.expiry, 1_800_000_000)
        let grant = try XCTUnwrap(claims.video)
        XCTAssertEqual(grant.roomToJoin(), "lab")
        XCTAssertEqual(grant.roomToJoin(requested: "other"), "lab", "the token's room wins")
        XCTAssertTrue(grant.allowsPublish)
        XCTAssertTrue(grant.allowsSubscribe)
        XCTAssertFalse(grant.allowsPublishData)
    }

    /// Old tokens carry the identity in `jti` (livekit/protocol `auth/verifier.go`); made by PyJWT.
    func testIdentityFallsBackToJTI() throws {
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
            + "eyJleHAiOjE4MDAwMDAwMDAsImlzcyI6IkFQSWtleTIiLCJqdGkiOiJvbGQtc3R5bGUiLCJuYmYiOjE3MDAwMDAwMDAs"
            + "InZpZGVvIjp7InJvb21Kb2luIjp0cnVlLCJyb29tIjoibGFiIn19.7kNXLYU2s51kGHLTN_xwIs0s8yUQcZet1mh9o_utb7U"
        let claims = try AccessToken.verify(token, keys: ["APIkey2": "another-secret-of-32-bytes-length"], now: during)
        XCTAssertEqual(claims.identity, "old-style")
    }

    func testGrantDefaults() {
        // Go VideoGrant.GetCanPublish/GetCanSubscribe/GetCanPublishData/GetCanUpdateOwnMetadata.
        let empty = VideoGrant()
        XCTAssertTrue(empty.allowsPublish)
        XCTAssertTrue(empty.allowsSubscribe)
        XCTAssertTrue(empty.allowsPublishData)
        XCTAssertFalse(empty.allowsUpdateOwnMetadata)
        let noPublish = VideoGrant(canPublish: false)
        XCTAssertFalse(noPublish.allowsPublishData, "missing canPublishData follows canPublish")
        let dataOnly = VideoGrant(canPublish: false, canPublishData: true)
        XCTAssertTrue(dataOnly.allowsPublishData)
        let permission = VideoGrant(canSubscribe: false, canPublishData: false).participantPermission
        XCTAssertTrue(permission.canPublish)
        XCTAssertFalse(permission.canSubscribe)
        XCTAssertFalse(permission.canPublishData)
    }

    func testRoomToJoin() {
        XCTAssertNil(VideoGrant(room: "lab").roomToJoin(requested: "lab"), "roomJoin is required")
        XCTAssertNil(VideoGrant(roomJoin: false, room: "lab").roomToJoin())
        XCTAssertEqual(VideoGrant(roomJoin: true).roomToJoin(requested: "any"), "any")
        XCTAssertNil(VideoGrant(roomJoin: true, room: "").roomToJoin())
    }

    func testHTTPStatusOfErrors() {
        XCTAssertEqual(LiveKitProtocolError.badSignature.httpStatus, 401)
        XCTAssertEqual(LiveKitProtocolError.expired(expiry: 1, now: 2).httpStatus, 401)
        XCTAssertEqual(LiveKitProtocolError.malformedToken(part: "token", reason: "").httpStatus, 401)
        XCTAssertEqual(LiveKitProtocolError.malformedJoinRequest(stage: "gzip", reason: "").httpStatus, 400)
        XCTAssertEqual(LiveKitProtocolError.malformedConnectRequest(reason: "").httpStatus, 400)
    }

    func testRoundTripWithTTL() throws {
        let now = Date(timeIntervalSince1970: 1_790_000_000.7)
        let claims = AccessTokenClaims(apiKey: "k1", identity: "alice", video: VideoGrant(roomJoin: true, room: "r"),
                                       ttl: .seconds(600), now: now, name: "Alice", metadata: "{\"x\":1}")
        XCTAssertEqual(claims.notBefore, 1_790_000_000)
        XCTAssertEqual(claims.expiry, 1_790_000_600)
        let token = try AccessToken.sign(claims, secret: "s1")
        XCTAssertEqual(try AccessToken.verify(token, keys: ["k0": "s0", "k1": "s1"], now: now), claims)
    }

    func testTimesAndLeeway() throws {
        let claims = AccessTokenClaims(apiKey: "devkey", identity: "a", notBefore: 1000, expiry: 2000)
        let token = try AccessToken.sign(claims, secret: "secret")
        func at(_ t: Double) -> Date { Date(timeIntervalSince1970: t) }
        // Inside the one-minute leeway on both ends.
        XCTAssertNoThrow(try AccessToken.verify(token, keys: keys, now: at(940)))
        XCTAssertNoThrow(try AccessToken.verify(token, keys: keys, now: at(2060)))
        XCTAssertThrowsError(try AccessToken.verify(token, keys: keys, now: at(2061))) {
            XCTAssertEqual($0 as? LiveKitProtocolError, .expired(expiry: 2000, now: 2061))
        }
        XCTAssertThrowsError(try AccessToken.verify(token, keys: keys, now: at(939))) {
            XCTAssertEqual($0 as? LiveKitProtocolError, .notYetValid(notBefore: 1000, now: 939))
        }
        XCTAssertThrowsError(try AccessToken.verify(token, keys: keys, now: at(2001), leeway: .zero)) {
            XCTAssertEqual($0 as? LiveKitProtocolError, .expired(expiry: 2000, now: 2001))
        }
    }

    func testMissingExpiryRejected() throws {
        let token = try AccessToken.sign(AccessTokenClaims(apiKey: "devkey", identity: "a"), secret: "secret")
        XCTAssertThrowsError(try AccessToken.verify(token, keys: keys, now: during)) {
            XCTAssertEqual($0 as? LiveKitProtocolError, .missingExpiry)
        }
    }

    func testUnknownKeyAndWrongSecret() throws {
        XCTAssertThrowsError(try AccessToken.verify(pyjwtToken, keys: ["other": "secret"], now: during)) {
            XCTAssertEqual($0 as? LiveKitProtocolError, .unknownKey("devkey"))
        }
        XCTAssertThrowsError(try AccessToken.verify(pyjwtToken, keys: ["devkey": "Secret"], now: during)) {
            XCTAssertEqual($0 as? LiveKitProtocolError, .badSignature)
        }
        XCTAssertThrowsError(try AccessToken.verify(pyjwtToken, keys: ["devkey": ""], now: during)) {
            XCTAssertEqual($0 as? LiveKitProtocolError, .unknownKey("devkey"))
        }
    }

    func testTamperedPayloadRejected() throws {
        var parts = pyjwtToken.split(separator: ".").map(String.init)
        // Same claims with canPublishData flipped to true, signature kept.
        let forged = Array(String(decoding: Base64.decodeURL(parts[1])!, as: UTF8.self)
            .replacingOccurrences(of: "\"canPublishData\":false", with: "\"canPublishData\":true").utf8)
        parts[1] = Base64.encodeURL(forged)
        XCTAssertThrowsError(try AccessToken.verify(parts.joined(separator: "."), keys: keys, now: during)) {
            XCTAssertEqual($0 as? LiveKitProtocolError, .badSignature)
        }
        // One flipped bit in the signature.
        var signature = Base64.decodeURL(pyjwtToken.split(separator: ".")[2])!
        signature[5] ^= 0x01
        let flipped = pyjwtToken.split(separator: ".").prefix(2).joined(separator: ".") + "." + Base64.encodeURL(signature)
        XCTAssertThrowsError(try AccessToken.verify(flipped, keys: keys, now: during)) {
            XCTAssertEqual($0 as? LiveKitProtocolError, .badSignature)
        }
    }

    func testOtherAlgorithmsRejected() throws {
        let payload = pyjwtToken.split(separator: ".")[1]
        for alg in ["none", "HS512", "RS256"] {
            let header = Base64.encodeURL(Array("{\"alg\":\"\(alg)\",\"typ\":\"JWT\"}".utf8))
            XCTAssertThrowsError(try AccessToken.verify("\(header).\(payload).", keys: keys, now: during)) {
                XCTAssertEqual($0 as? LiveKitProtocolError, .unsupportedAlgorithm(alg))
            }
        }
    }

    func testMalformedTokensAreTypedErrors() {
        let header = pyjwtToken.split(separator: ".")[0]
        let cases: [(String, String)] = [
            ("", "token"), ("abc", "token"), ("a.b", "token"), ("a.b.c.d", "token"),
            ("!!.e30.sig", "header"),
            ("\(header).e30=x.sig", "payload"),                                      // bad padding
            ("\(header).\(Base64.encodeURL(Array("[1,2]".utf8))).", "payload"),       // not an object
            ("\(header).\(Base64.encodeURL(Array("{\"exp\":\"soon\"}".utf8))).", "payload"),
            ("\(header).\(Base64.encodeURL(Array("{\"video\":{\"roomJoin\":\"yes\"}}".utf8))).", "payload"),
            ("\(header).e30.*", "signature"),
            ("\(Base64.encodeURL(Array("{}".utf8))).e30.", "header"),                // no alg
        ]
        for (token, part) in cases {
            XCTAssertThrowsError(try AccessToken.verify(token, keys: keys, now: during), token) { error in
                guard case .malformedToken(let found, _)? = error as? LiveKitProtocolError else {
                    return XCTFail("\(token): \(error)")
                }
                XCTAssertEqual(found, part, token)
            }
        }
    }

    func testSigningNeedsCredentials() {
        XCTAssertThrowsError(try AccessToken.sign(AccessTokenClaims(apiKey: "", identity: "a"), secret: "s")) {
            XCTAssertEqual($0 as? LiveKitProtocolError, .missingCredentials)
        }
        XCTAssertThrowsError(try AccessToken.sign(AccessTokenClaims(apiKey: "k", identity: "a"), secret: "")) {
            XCTAssertEqual($0 as? LiveKitProtocolError, .missingCredentials)
        }
    }

    /// RFC 4231 §4.2 test case 1 (HMAC-SHA-256).
    func testHMACRFC4231() {
        let mac = HMACSHA256.mac(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8))
        XCTAssertEqual(mac.map { String(format: "%02x", $0) }.joined(),
                       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    }
}
