import Foundation
import XCTest
@testable import LiveKitProtocol

final class RelayedDataPacketTests: XCTestCase {
    private func userPacket(destinations: [String] = [], userDestinations: [String] = [],
                            claimedIdentity: String = "mallory") -> [UInt8] {
        var packet = Livekit_DataPacket()
        packet.kind = .lossy   // a lie: the channel decides
        packet.participantIdentity = claimedIdentity
        packet.destinationIdentities = destinations
        var user = Livekit_UserPacket()
        user.payload = Data("hello".utf8)
        user.topic = "chat"
        user.participantIdentity = claimedIdentity
        user.destinationIdentities = userDestinations
        packet.user = user
        return (try? packet.serializedBytes()) ?? []
    }

    func testSenderIsAssertedAndKindFollowsChannel() throws {
        let relayed = try XCTUnwrap(try RelayedDataPacket.relay(userPacket(), channel: .reliable,
                                                                senderIdentity: "alice", senderSid: "PA_a"))
        let received = try Livekit_DataPacket(serializedBytes: relayed.bytes)
        XCTAssertEqual(received.kind, .reliable)
        XCTAssertEqual(received.participantIdentity, "alice")
        XCTAssertEqual(received.user.participantIdentity, "alice")
        XCTAssertEqual(received.user.participantSid, "PA_a")
        XCTAssertEqual(received.user.payload, Data("hello".utf8))
        XCTAssertEqual(received.user.topic, "chat")
        XCTAssertTrue(relayed.isAddressed(toIdentity: "bob", sid: "PA_b"), "no destinations: everyone")
    }

    func testDestinations() throws {
        let direct = try XCTUnwrap(try RelayedDataPacket.relay(userPacket(destinations: ["bob"]), channel: .reliable,
                                                               senderIdentity: "alice", senderSid: "PA_a"))
        XCTAssertTrue(direct.isAddressed(toIdentity: "bob", sid: "PA_b"))
        XCTAssertFalse(direct.isAddressed(toIdentity: "carol", sid: "PA_c"))
        XCTAssertEqual(direct.packet.user.destinationIdentities, ["bob"], "copied into the deprecated field")

        // Old clients put destinations only in the user packet.
        let legacy = try XCTUnwrap(try RelayedDataPacket.relay(userPacket(userDestinations: ["carol"]), channel: .lossy,
                                                               senderIdentity: "alice", senderSid: "PA_a"))
        XCTAssertEqual(legacy.destinationIdentities, ["carol"])
        XCTAssertEqual(legacy.packet.destinationIdentities, ["carol"])
        XCTAssertEqual(legacy.packet.kind, .lossy)
    }

    func testHiddenSenderAndTranscriptions() throws {
        let hidden = try XCTUnwrap(try RelayedDataPacket.relay(userPacket(), channel: .reliable, senderIdentity: "spy",
                                                               senderSid: "PA_s", hidden: true))
        XCTAssertEqual(hidden.packet.participantIdentity, "")
        XCTAssertEqual(hidden.packet.user.participantIdentity, "")

        var packet = Livekit_DataPacket()
        packet.transcription.trackID = "TR_1"
        let bytes: [UInt8] = try packet.serializedBytes()
        XCTAssertNil(try RelayedDataPacket.relay(bytes, channel: .reliable, senderIdentity: "a", senderSid: "PA_a"))
        XCTAssertNotNil(try RelayedDataPacket.relay(bytes, channel: .reliable, senderIdentity: "a", senderSid: "PA_a",
                                                    senderIsAgent: true))
    }

    func testUnknownPayloadTravelsOnAndGarbageIsTyped() throws {
        // DataPacket field 8 (metrics, not in our subset), LEN 2, bytes 0x0A 0x00.
        let relayed = try XCTUnwrap(try RelayedDataPacket.relay([0x42, 0x02, 0x0A, 0x00], channel: .reliable,
                                                                senderIdentity: "a", senderSid: "PA_a"))
        XCTAssertEqual(try Livekit_DataPacket(serializedBytes: relayed.bytes).unknownFields.data, Data([0x42, 0x02, 0x0A, 0x00]))
        XCTAssertThrowsError(try RelayedDataPacket.relay([0x12, 0x09], channel: .reliable, senderIdentity: "a", senderSid: "PA_a")) {
            guard case .malformedDataPacket? = $0 as? LiveKitProtocolError else { return XCTFail("\($0)") }
        }
    }
}
