import XCTest
import TestSupport
@testable import WebRTCData

/// STUN codec against RFC 5769 (test vectors for STUN), byte for byte.
final class STUNMessageTests: XCTestCase {
    /// RFC 5769 §2.1 sample request; short-term password "VOkJxbRl1RmTxUk/WvJxBt".
    let request = hex("""
        00 01 00 58  // Binding request, length 88
        21 12 a4 42  // magic cookie
        b7 e7 a7 01 bc 34 d6 86 fa 87 df ae  // transaction ID
        80 22 00 10  // SOFTWARE, 16 bytes
        53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74  // "STUN test client"
        00 24 00 04 6e 00 01 ff  // PRIORITY 0x6e0001ff
        80 29 00 08 93 2f f9 b1 51 26 3b 36  // ICE-CONTROLLED tie-breaker
        00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20  // USERNAME "evtj:h6vY" + padding 0x20
        00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2  // MESSAGE-INTEGRITY
        80 28 00 04 e5 7a 3b cf  // FINGERPRINT
        """)
    /// RFC 5769 §2.2: XOR-MAPPED-ADDRESS 192.0.2.1:32853.
    let ipv4Response = hex("""
        01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20  // SOFTWARE "test vector"
        00 20 00 08 00 01 a1 47 e1 12 a6 43  // XOR-MAPPED-ADDRESS
        00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
        80 28 00 04 c0 7d 4c 96
        """)
    /// RFC 5769 §2.3: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853.
    let ipv6Response = hex("""
        01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
        00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
        80 28 00 04 c8 fb 0b 4c
        """)
    let password = Array("VOkJxbRl1RmTxUk/WvJxBt".utf8)

    func testSampleRequestDecodesAndAuthenticates() throws {
        XCTAssertEqual(request.count, 108)
        let message = try StunMessage.decode(request)
        XCTAssertEqual(message.method, .binding)
        XCTAssertEqual(message.messageClass, .request)
        XCTAssertEqual(message.transactionID.bytes, hex("b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"))
        XCTAssertEqual(message.software, "STUN test client")
        XCTAssertEqual(try message.priority(), 0x6E00_01FF)
        let role = try XCTUnwrap(try message.iceRole())
        XCTAssertEqual(role.role, .controlled)
        XCTAssertEqual(role.tieBreaker, 0x932F_F9B1_5126_3B36)
        XCTAssertEqual(try message.username(), "evtj:h6vY")
        XCTAssertFalse(message.useCandidate)
        XCTAssertNoThrow(try StunMessage.verifyIntegrity(request, key: password))
        XCTAssertNoThrow(try StunMessage.verifyFingerprint(request))
        XCTAssertThrowsError(try StunMessage.verifyIntegrity(request, key: Array("wrong".utf8))) {
            XCTAssertEqual(($0 as? WebRTCDataError)?.reason, .integrityMismatch)
        }
        // Re-encoded from its parts, with the vector's 0x20 padding: the same 108 bytes,
        // so our HMAC-SHA1 and CRC-32 produce the RFC's values.
        XCTAssertEqual(message.encode(integrityKey: password, fingerprint: true, padding: 0x20), request)
    }

    func testSampleIPv4ResponseByteForByte() throws {
        let message = try StunMessage.decode(ipv4Response)
        XCTAssertEqual(message.messageClass, .successResponse)
        XCTAssertEqual(try message.xorMappedAddress(), TransportAddress(host: "192.0.2.1", port: 32853))
        XCTAssertNoThrow(try StunMessage.verifyIntegrity(ipv4Response, key: password))
        XCTAssertNoThrow(try StunMessage.verifyFingerprint(ipv4Response))
        XCTAssertEqual(message.encode(integrityKey: password, fingerprint: true, padding: 0x20), ipv4Response)
        // Built from scratch rather than decoded.
        var built = StunMessage(messageClass: .successResponse, transactionID: message.transactionID)
        built.attributes.append(StunAttribute(type: .software, value: Array("test vector".utf8)))
        built.setXorMappedAddress(try XCTUnwrap(TransportAddress(host: "192.0.2.1", port: 32853)))
        XCTAssertEqual(built.encode(integrityKey: password, fingerprint: true, padding: 0x20), ipv4Response)
    }

    func testSampleIPv6ResponseByteForByte() throws {
        let message = try StunMessage.decode(ipv6Response)
        let address = try XCTUnwrap(try message.xorMappedAddress())
        XCTAssertEqual(address, TransportAddress(host: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853))
        XCTAssertEqual(address.description, "[2001:db8:1234:5678:11:2233:4455:6677]:32853")
        XCTAssertNoThrow(try StunMessage.verifyIntegrity(ipv6Response, key: password))
        XCTAssertNoThrow(try StunMessage.verifyFingerprint(ipv6Response))
        var built = StunMessage(messageClass: .successResponse, transactionID: message.transactionID)
        built.attributes.append(StunAttribute(type: .software, value: Array("test vector".utf8)))
        built.setXorMappedAddress(address)
        XCTAssertEqual(built.encode(integrityKey: password, fingerprint: true, padding: 0x20), ipv6Response)
    }

    /// RFC 5769 §2.4: long-term credentials, username "マトリックス", realm "example.org",
    /// password "TheMatrIX" (after SASLprep), no FINGERPRINT.
    func testLongTermCredentialVectorByteForByte() throws {
        let vector = hex("""
            00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
            00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00  // USERNAME
            00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41  // NONCE
            00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00  // REALM "example.org"
            00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66  // MESSAGE-INTEGRITY
            """)
        let message = try StunMessage.decode(vector)
        XCTAssertEqual(try message.username(), "マトリックス")
        let key = StunMessageIntegrity.longTermKey(username: "マトリックス", realm: "example.org", password: "TheMatrIX")
        XCTAssertNoThrow(try StunMessage.verifyIntegrity(vector, key: key))
        XCTAssertThrowsError(try StunMessage.verifyFingerprint(vector))
        XCTAssertEqual(message.encode(integrityKey: key), vector)
    }

    func testEveryTruncatedPrefixIsATypedError() {
        for vector in [request, ipv4Response, ipv6Response] {
            for length in 0..<vector.count {
                XCTAssertThrowsError(try StunMessage.decode(Array(vector.prefix(length))), "prefix \(length)") { error in
                    let error = error as? WebRTCDataError
                    XCTAssertEqual(error?.layer, .stun)
                    XCTAssertTrue([.truncated, .badLength].contains(error?.reason), "\(String(describing: error))")
                }
            }
        }
    }

    func testEveryFlippedBitIsCaughtByIntegrityOrFingerprintOrDecoder() {
        // Flip one bit at each byte: decode fails, or the integrity/fingerprint check does.
        for index in 0..<request.count {
            var damaged = request
            damaged[index] ^= 0x01
            let caught: Bool
            do {
                _ = try StunMessage.decode(damaged)
                try StunMessage.verifyFingerprint(damaged)
                try StunMessage.verifyIntegrity(damaged, key: password)
                caught = false
            } catch {
                caught = true
            }
            XCTAssertTrue(caught, "bit flip at byte \(index) went unnoticed")
        }
    }

    func testMalformedInputsAreTypedErrors() {
        func reason(_ input: [UInt8]) -> WebRTCDataError.Reason? {
            do { _ = try StunMessage.decode(input); return nil } catch { return error.reason }
        }
        var topBits = ipv4Response
        topBits[0] = 0xC1
        XCTAssertEqual(reason(topBits), .notStun)
        var cookie = ipv4Response
        cookie[4] = 0x22
        XCTAssertEqual(reason(cookie), .badMagicCookie)
        var oddLength = ipv4Response
        oddLength[3] = 0x3D
        XCTAssertEqual(reason(oddLength), .badLength)
        XCTAssertEqual(reason(ipv4Response + [0, 0, 0, 0]), .badLength)
        // An attribute whose length runs past the end of the message.
        let overrun = hex("00 01 00 08 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae 00 06 00 40 61 62 63 64")
        XCTAssertEqual(reason(overrun), .truncated)
        // MESSAGE-INTEGRITY of the wrong size.
        let shortIntegrity = hex("00 01 00 08 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae 00 08 00 04 61 62 63 64")
        XCTAssertEqual(reason(shortIntegrity), .badAttribute)
        // XOR-MAPPED-ADDRESS with an unknown family decodes as a message but not as an address.
        let badFamily = hex("01 01 00 0c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae 00 20 00 08 00 07 a1 47 e1 12 a6 43")
        XCTAssertThrowsError(try StunMessage.decode(badFamily).xorMappedAddress()) {
            XCTAssertEqual(($0 as? WebRTCDataError)?.reason, .badAttribute)
        }
        XCTAssertThrowsError(try StunMessage.verifyFingerprint(Array(ipv4Response.dropLast(8)))) {
            XCTAssertEqual(($0 as? WebRTCDataError)?.reason, .fingerprintMissing)
        }
    }

    func testICEAttributesAndRoleConflictErrorRoundTrip() throws {
        var message = StunMessage(messageClass: .request, transactionID: .random())
        message.setUsername("remote:local")
        message.setPriority(1_845_501_695)
        message.setICERole(.controlling, tieBreaker: 0x0102_0304_0506_0708)
        message.setUseCandidate()
        let encoded = message.encode(integrityKey: Array("pw".utf8), fingerprint: true)
        let decoded = try StunMessage.decode(encoded)
        XCTAssertEqual(decoded, message)
        XCTAssertEqual(try decoded.priority(), 1_845_501_695)
        XCTAssertTrue(decoded.useCandidate)
        XCTAssertEqual(try decoded.iceRole()?.role, .controlling)
        XCTAssertEqual(try decoded.iceRole()?.tieBreaker, 0x0102_0304_0506_0708)
        XCTAssertNoThrow(try StunMessage.verifyIntegrity(encoded, key: Array("pw".utf8)))

        var error = StunMessage(messageClass: .errorResponse, transactionID: message.transactionID)
        error.setErrorCode(.roleConflict)
        let errorBytes = error.encode()
        // Type 0x0111 = Binding error response (RFC 8489 §5: C1 and C0 set).
        XCTAssertEqual(Array(errorBytes[0..<2]), [0x01, 0x11])
        XCTAssertEqual(try StunMessage.decode(errorBytes).errorCode(), .roleConflict)
    }

    func testMessageTypeBitsInterleaveClassAndMethod() {
        XCTAssertEqual(StunClass.request.type(method: 1), 0x0001)
        XCTAssertEqual(StunClass.indication.type(method: 1), 0x0011)
        XCTAssertEqual(StunClass.successResponse.type(method: 1), 0x0101)
        XCTAssertEqual(StunClass.errorResponse.type(method: 1), 0x0111)
        XCTAssertEqual(StunClass.method(ofType: 0x0111), 1)
        XCTAssertEqual(StunClass(type: 0x0101), .successResponse)
    }

    func testCRC32MatchesTheStandardCheckValue() {
        // CRC-32/ISO-HDLC check value for "123456789".
        XCTAssertEqual(StunFingerprint.crc32(Array("123456789".utf8)[...]), 0xCBF4_3926)
    }

    func testDemultiplexingByFirstByte() {
        XCTAssertEqual(DatagramKind(request), .stun)
        XCTAssertEqual(DatagramKind([22, 0xFE, 0xFD]), .dtls)
        XCTAssertEqual(DatagramKind([0x80]), .other)
        XCTAssertEqual(DatagramKind([]), .other)
    }
}
