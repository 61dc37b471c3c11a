import XCTest
import TestSupport
@testable import WebRTCData

final class DCEPTests: XCTestCase {
    /// The OPEN the official SDK (livekit 1.2.1) sent for `_data_track`
    /// (shared/testvectors/livekit-python-1.2.1/README.md).
    let sdkDataTrackOpen: [UInt8] = hex(
        "03" +          // message type DATA_CHANNEL_OPEN
        "81" +          // channel type: partial reliable rexmit, unordered
        "0100" +        // priority 256 (normal)
        "00000000" +    // reliability parameter: 0 retransmits
        "000b" +        // label length 11
        "0000" +        // protocol length 0
        "5f646174615f747261636b") // "_data_track"

    func testDecodesSDKDataTrackOpen() throws {
        let message = try DCEPMessage(bytes: sdkDataTrackOpen)
        guard case .open(let open) = message else { return XCTFail("expected OPEN, got \(message)") }
        XCTAssertEqual(open.channelType, .partialReliableRexmitUnordered)
        XCTAssertFalse(open.ordered)
        XCTAssertEqual(open.reliability, .maxRetransmits(0))
        XCTAssertEqual(open.priority, 256)
        XCTAssertEqual(open.label, "_data_track")
        XCTAssertEqual(open.protocol, "")
    }

    func testEncodesSDKDataTrackOpenByteForByte() throws {
        let open = DCEPOpen(channelType: DCEPChannelType(ordered: false, reliability: .maxRetransmits(0)),
                            priority: 256, reliabilityParameter: 0, label: "_data_track")
        XCTAssertEqual(try open.encoded(), sdkDataTrackOpen)
    }

    func testRoundTripsEveryChannelType() throws {
        for type in DCEPChannelType.allCases {
            let open = DCEPOpen(channelType: type, priority: 512, reliabilityParameter: 1500,
                                label: "chän", protocol: "proto/1")
            XCTAssertEqual(try DCEPOpen(bytes: try open.encoded()), open)
        }
    }

    func testEveryTruncatedPrefixIsATypedError() {
        for length in 0 ..< sdkDataTrackOpen.count {
            XCTAssertThrowsError(try DCEPOpen(bytes: Array(sdkDataTrackOpen.prefix(length)))) { error in
                XCTAssertTrue(error is WebRTCDataError, "prefix \(length)")
            }
        }
    }

    func testTrailingBytesAndBadFieldsAreRejected() {
        XCTAssertThrowsError(try DCEPOpen(bytes: sdkDataTrackOpen + [0])) { error in
            XCTAssertEqual((error as? WebRTCDataError)?.reason, .badLength)
        }
        var badType = sdkDataTrackOpen
        badType[1] = 0x03
        XCTAssertThrowsError(try DCEPOpen(bytes: badType)) { error in
            XCTAssertEqual((error as? WebRTCDataError)?.location, "byte 1")
        }
        var badLabel = sdkDataTrackOpen
        badLabel[12] = 0xFF
        XCTAssertThrowsError(try DCEPOpen(bytes: badLabel))
        XCTAssertThrowsError(try DCEPMessage(bytes: [0x04]))
        XCTAssertThrowsError(try DCEPMessage(bytes: []))
    }

    func testAck() throws {
        XCTAssertEqual(DCEPAck().encoded(), [0x02])
        XCTAssertEqual(try DCEPMessage(bytes: [0x02]), .ack)
        XCTAssertThrowsError(try DCEPAck(bytes: [0x03]))
    }

    func testTimedReliabilityParameter() throws {
        let open = DCEPOpen(channelType: .partialReliableTimed, reliabilityParameter: 3000, label: "t")
        let bytes = try open.encoded()
        XCTAssertEqual(Array(bytes[4 ..< 8]), [0x00, 0x00, 0x0B, 0xB8])
        XCTAssertEqual(try DCEPOpen(bytes: bytes).reliability, .maxPacketLifeTime(milliseconds: 3000))
    }
}
