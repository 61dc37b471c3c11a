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
        let relayed = (try RelayedDataPacket.relay(userPacket(), channel: .reliable,
                                                                senderIdentity: "alice", senderSid: "PA_a"))
        let received = try Livekit_DataPacket(serializedBytes: relayed.bytes)
        XCTAssertEqual(received.kind, .reliable)
        XCTAssertEqual(received.participantIdentity, "alice")
        XCTAssertEqual(received.user.participantIdentity, "alice")
        XCTAssertEqual(received.user.participantSid, "PA_a")
        XCTAssertEqual(received.participantSid, "PA_a")
        XCTAssertEqual(received.user.payload, Data("hello".utf8))
        XCTAssertEqual(received.user.topic, "chat")
        XCTAssertTrue(relayed.isAddressed(toIdentity: "bob", sid: "PA_b"), "no destinations: everyone")
    }

    func testDestinations() throws {
        let direct = (try RelayedDataPacket.relay(userPacket(destinations: ["bob"]), channel: .reliable,
                                                               senderIdentity: "alice", senderSid: "PA_a"))
        XCTAssertTrue(direct.isAddressed(toIdentity: "bob", sid: "PA_b"))
        XCTAssertFalse(direct.isAddressed(toIdentity: "carol", sid: "PA_c"))
        XCTAssertEqual(direct.packet.user.destinationIdentities, ["bob"], "copied into the deprecated field")

        // Old clients put destinations only in the user packet.
        let legacy = (try RelayedDataPacket.relay(userPacket(userDestinations: ["carol"]), channel: .lossy,
                                                               senderIdentity: "alice", senderSid: "PA_a"))
        XCTAssertEqual(legacy.destinationIdentities, ["carol"])
        XCTAssertEqual(legacy.packet.destinationIdentities, ["carol"])
        XCTAssertEqual(legacy.packet.kind, .lossy)
    }

    /// RPC rides on the destination list, and the server's stamp is the caller identity the
    /// callee sees: a caller cannot pose as an identity a `--control-from` glob allows.
    func testRpcRequestGoesToItsDestinationUnderTheSendersIdentity() throws {
        var packet = Livekit_DataPacket()
        packet.participantIdentity = "operator"  // claimed
        packet.destinationIdentities = ["robot"]
        var request = Livekit_RpcRequest()
        request.id = "r1"
        request.method = "trackbag.pause"
        request.version = 1
        packet.rpcRequest = request
        let relayed = try RelayedDataPacket.relay(try packet.serializedBytes(), channel: .reliable,
                                                  senderIdentity: "mallory", senderSid: "PA_m")
        XCTAssertTrue(relayed.isAddressed(toIdentity: "robot", sid: "PA_r"))
        XCTAssertFalse(relayed.isAddressed(toIdentity: "operator", sid: "PA_o"))
        XCTAssertFalse(relayed.isAddressed(toIdentity: "viewer", sid: "PA_v"))
        let received = try Livekit_DataPacket(serializedBytes: relayed.bytes)
        XCTAssertEqual(received.participantIdentity, "mallory")
        XCTAssertEqual(received.rpcRequest.method, "trackbag.pause")
        XCTAssertEqual(received.destinationIdentities, ["robot"])
    }

    func testHiddenSenderAndTranscriptions() throws {
        let hidden = (try RelayedDataPacket.relay(userPacket(), channel: .reliable, senderIdentity: "spy",
                                                               senderSid: "PA_s", hidden: true))
        XCTAssertEqual(hidden.packet.participantIdentity, "")
        XCTAssertEqual(hidden.packet.user.participantIdentity, "")
        XCTAssertEqual(hidden.packet.user.participantSid, "")
        // livekit-server `onReceivedDataMessage` sets the packet's sid whoever sends it.
        XCTAssertEqual(hidden.packet.participantSid, "PA_s")
        XCTAssertFalse(String(decoding: hidden.bytes, as: UTF8.self).contains("spy"))
        XCTAssertFalse(String(decoding: hidden.bytes, as: UTF8.self).contains("mallory"))

        var packet = Livekit_DataPacket()
        packet.transcription.trackID = "TR_1"
        let bytes: [UInt8] = try packet.serializedBytes()
        let fromUser = try RelayedDataPacket.relay(bytes, channel: .reliable, senderIdentity: "a", senderSid: "PA_a")
        XCTAssertEqual(fromUser.notRelayed, .transcriptionFromNonAgent)
        XCTAssertFalse(fromUser.isAddressed(toIdentity: "b", sid: "PA_b"))
        let fromAgent = try RelayedDataPacket.relay(bytes, channel: .reliable, senderIdentity: "a", senderSid: "PA_a",
                                                    senderIsAgent: true)
        XCTAssertNil(fromAgent.notRelayed)
        XCTAssertTrue(fromAgent.isAddressed(toIdentity: "b", sid: "PA_b"))
    }

    func testDestinationSidsAndAgentsSpeakingForOthers() throws {
        var packet = Livekit_DataPacket()
        var user = Livekit_UserPacket()
        user.destinationSids = ["PA_c"]
        packet.user = user
        let bySid = try RelayedDataPacket.relay(try packet.serializedBytes(), channel: .reliable, senderIdentity: "a",
                                                senderSid: "PA_a")
        XCTAssertTrue(bySid.isAddressed(toIdentity: "carol", sid: "PA_c"))
        XCTAssertFalse(bySid.isAddressed(toIdentity: "bob", sid: "PA_b"))

        // An agent's chat message on behalf of "bob" keeps bob's identity and is marked generated;
        // the same from a non-agent is stamped with the sender.
        var chat = Livekit_DataPacket()
        chat.participantIdentity = "bob"
        chat.chatMessage.message = "hi"
        let chatBytes: [UInt8] = try chat.serializedBytes()
        let byAgent = try RelayedDataPacket.relay(chatBytes, channel: .reliable, senderIdentity: "agent", senderSid: "PA_g",
                                                  senderIsAgent: true)
        XCTAssertEqual(byAgent.packet.participantIdentity, "bob")
        XCTAssertTrue(byAgent.packet.chatMessage.generated)
        let byUser = try RelayedDataPacket.relay(chatBytes, channel: .reliable, senderIdentity: "mallory", senderSid: "PA_m")
        XCTAssertEqual(byUser.packet.participantIdentity, "mallory")
        XCTAssertFalse(byUser.packet.chatMessage.generated)

        var header = Livekit_DataPacket()
        header.participantIdentity = "bob"
        header.streamHeader.textHeader.version = 1
        let headerByAgent = try RelayedDataPacket.relay(try header.serializedBytes(), channel: .reliable, senderIdentity: "agent",
                                                        senderSid: "PA_g", senderIsAgent: true)
        XCTAssertEqual(headerByAgent.packet.participantIdentity, "bob")
        XCTAssertTrue(headerByAgent.packet.streamHeader.textHeader.generated)
    }

    func testUnknownPayloadTravelsOnMetricsDoNotAndGarbageIsTyped() throws {
        // DataPacket field 19 (a payload kind newer than our subset), LEN 2, bytes 0x0A 0x00.
        let relayed = (try RelayedDataPacket.relay([0x9A, 0x01, 0x02, 0x0A, 0x00], channel: .reliable,
                                                                senderIdentity: "a", senderSid: "PA_a"))
        XCTAssertNil(relayed.notRelayed)
        XCTAssertEqual(try Livekit_DataPacket(serializedBytes: relayed.bytes).unknownFields.data,
                       Data([0x9A, 0x01, 0x02, 0x0A, 0x00]))
        // Field 8 is `metrics` (MetricsBatch, not in our subset): livekit-server never relays it.
        let metrics = try RelayedDataPacket.relay([0x42, 0x02, 0x0A, 0x00], channel: .reliable, senderIdentity: "a",
                                                  senderSid: "PA_a")
        XCTAssertEqual(metrics.notRelayed, .metrics)
        XCTAssertTrue(metrics.bytes.isEmpty)
        // Behind another unknown field too.
        XCTAssertEqual(try RelayedDataPacket.relay([0x9A, 0x01, 0x00, 0x42, 0x00], channel: .lossy, senderIdentity: "a",
                                                   senderSid: "PA_a").notRelayed, .metrics)
        XCTAssertThrowsError(try RelayedDataPacket.relay([0x12, 0x09], channel: .reliable, senderIdentity: "a", senderSid: "PA_a")) {
            guard case .malformedDataPacket? = $0 as? LiveKitProtocolError else { return XCTFail("\($0)") }
        }
    }
}
