import Foundation
import LiveKitProtocol
@testable import RoomClient
import XCTest

/// LiveKit RPC v1 driven by packets and time, no room: the request, ack and response a caller
/// and a callee exchange, every built-in error, and the bytes checked against the encoding of
/// LiveKit's own protobuf library.
final class RpcEndpointTests: XCTestCase {
    private func packet(from identity: String, _ fill: (inout Livekit_DataPacket) -> Void) -> Livekit_DataPacket {
        var packet = Livekit_DataPacket()
        packet.participantIdentity = identity
        fill(&packet)
        return packet
    }

    private func ack(_ id: String, from identity: String = "bob") -> Livekit_DataPacket {
        packet(from: identity) { $0.rpcAck.requestID = id }
    }

    private func response(_ id: String, payload: String? = nil, error: RpcError? = nil) -> Livekit_DataPacket {
        packet(from: "bob") { p in
            var r = Livekit_RpcResponse()
            r.requestID = id
            if let payload { r.payload = payload }
            if let error {
                var e = Livekit_RpcError()
                e.code = UInt32(error.code)
                e.message = error.message
                e.data = error.data
                r.error = e
            }
            p.rpcResponse = r
        }
    }

    private func request(_ id: String, method: String, payload: String = "x", version: UInt32 = 1,
                         from caller: String = "alice") -> Livekit_DataPacket {
        packet(from: caller) { p in
            var r = Livekit_RpcRequest()
            r.id = id
            r.method = method
            r.payload = payload
            r.responseTimeoutMs = 10_000
            r.version = version
            p.rpcRequest = r
        }
    }

    /// The packets sent, in order.
    private func sent(_ actions: [RpcEndpoint.Action]) -> [Livekit_DataPacket] {
        actions.compactMap { if case .send(let p) = $0 { p } else { nil } }
    }

    // MARK: Caller

    func testCallSendsTheRequestTheSDKSendsByteForByte() throws {
        var endpoint = RpcEndpoint()
        let actions = endpoint.call(id: "r1", destination: "bob", method: "m", payload: "hi",
                                    responseTimeoutMs: 10_000, maxRoundTripMs: 7_000, nowMs: 0)
        let packets = sent(actions)
        XCTAssertEqual(packets.count, 1)
        // livekit.protocol.models.DataPacket(destination_identities=['bob'], rpc_request=RpcRequest(
        // id='r1', method='m', payload='hi', response_timeout_ms=10000, version=1)).SerializeToString()
        let bytes: [UInt8] = try packets[0].serializedBytes()
        XCTAssertEqual(hex(bytes), "2a03626f62" // field 5 destination_identities "bob"
                       + "5210" // field 10 rpc_request, 16 bytes
                       + "0a027231" + "12016d" + "1a026869" // id "r1", method "m", payload "hi"
                       + "20904e" + "2801") // response_timeout_ms 10000, version 1
        XCTAssertEqual(endpoint.pending["r1"]?.destination, "bob")
    }

    func testAckThenResponseCompletesTheCall() {
        var endpoint = RpcEndpoint()
        _ = endpoint.call(id: "r1", destination: "bob", method: "m", payload: "", responseTimeoutMs: 10_000,
                          maxRoundTripMs: 7_000, nowMs: 0)
        XCTAssertEqual(endpoint.receive(ack("r1"), nowMs: 100), [])
        XCTAssertNil(endpoint.pending["r1"]?.ackDeadlineMs)
        // Acknowledged: past the ack deadline nothing happens.
        XCTAssertEqual(endpoint.tick(nowMs: 7_500), [])
        XCTAssertEqual(endpoint.receive(response("r1", payload: "ok"), nowMs: 8_000),
                       [.complete(requestID: "r1", .success("ok"))])
        XCTAssertTrue(endpoint.pending.isEmpty)
    }

    func testResponseBeforeAckIsAccepted() {
        var endpoint = RpcEndpoint()
        _ = endpoint.call(id: "r1", destination: "bob", method: "m", payload: "", responseTimeoutMs: 10_000,
                          maxRoundTripMs: 7_000, nowMs: 0)
        XCTAssertEqual(endpoint.receive(response("r1", payload: "early"), nowMs: 5),
                       [.complete(requestID: "r1", .success("early"))])
        // The ack that follows matches nothing and is counted.
        XCTAssertEqual(endpoint.receive(ack("r1"), nowMs: 6), [])
        XCTAssertEqual(endpoint.unmatched, 1)
    }

    func testErrorResponseReachesTheCallerAsSent() {
        var endpoint = RpcEndpoint()
        _ = endpoint.call(id: "r1", destination: "bob", method: "m", payload: "", responseTimeoutMs: 10_000,
                          maxRoundTripMs: 7_000, nowMs: 0)
        let error = RpcError(code: 2001, message: "refused", data: "{\"why\":1}")
        XCTAssertEqual(endpoint.receive(response("r1", error: error), nowMs: 5), [.complete(requestID: "r1", .failure(error))])
    }

    func testNoAckWithinTheRoundTripIsAConnectionTimeout() {
        var endpoint = RpcEndpoint()
        _ = endpoint.call(id: "r1", destination: "bob", method: "m", payload: "", responseTimeoutMs: 10_000,
                          maxRoundTripMs: 7_000, nowMs: 1_000)
        XCTAssertEqual(endpoint.nextDeadlineMs, 8_000)
        XCTAssertEqual(endpoint.tick(nowMs: 7_999), [])
        XCTAssertEqual(endpoint.tick(nowMs: 8_000), [.complete(requestID: "r1", .failure(.connectionTimeout))])
        XCTAssertEqual(RpcError.connectionTimeout.code, 1501)
        // A late response finds no call.
        XCTAssertEqual(endpoint.receive(response("r1", payload: "late"), nowMs: 9_000), [])
        XCTAssertEqual(endpoint.unmatched, 1)
    }

    func testAcknowledgedButUnansweredIsAResponseTimeout() {
        var endpoint = RpcEndpoint()
        _ = endpoint.call(id: "r1", destination: "bob", method: "m", payload: "", responseTimeoutMs: 2_000,
                          maxRoundTripMs: 7_000, nowMs: 0)
        _ = endpoint.receive(ack("r1"), nowMs: 10)
        XCTAssertEqual(endpoint.nextDeadlineMs, 2_000)
        XCTAssertEqual(endpoint.tick(nowMs: 1_999), [])
        XCTAssertEqual(endpoint.tick(nowMs: 2_000), [.complete(requestID: "r1", .failure(.responseTimeout))])
        XCTAssertEqual(RpcError.responseTimeout.code, 1502)
    }

    func testRequestPayloadLimitIs15KiBOfUTF8() {
        var endpoint = RpcEndpoint()
        let atLimit = String(repeating: "a", count: 15 * 1024)
        XCTAssertEqual(sent(endpoint.call(id: "ok", destination: "bob", method: "m", payload: atLimit,
                                          responseTimeoutMs: 1, maxRoundTripMs: 1, nowMs: 0)).count, 1)
        // 5,121 three-byte characters: 15,363 bytes, though only 5,121 characters.
        let over = String(repeating: "€", count: 5_121)
        XCTAssertEqual(endpoint.call(id: "big", destination: "bob", method: "m", payload: over,
                                     responseTimeoutMs: 1, maxRoundTripMs: 1, nowMs: 0),
                       [.complete(requestID: "big", .failure(.requestPayloadTooLarge))])
        XCTAssertNil(endpoint.pending["big"])
        XCTAssertEqual(RpcError.requestPayloadTooLarge.code, 1402)
    }

    func testCallsToALeavingParticipantEndAsRecipientDisconnected() {
        var endpoint = RpcEndpoint()
        _ = endpoint.call(id: "r1", destination: "bob", method: "m", payload: "", responseTimeoutMs: 10_000,
                          maxRoundTripMs: 7_000, nowMs: 0)
        _ = endpoint.call(id: "r2", destination: "carol", method: "m", payload: "", responseTimeoutMs: 10_000,
                          maxRoundTripMs: 7_000, nowMs: 0)
        XCTAssertEqual(endpoint.participantLeft("bob"), [.complete(requestID: "r1", .failure(.recipientDisconnected))])
        XCTAssertEqual(Set(endpoint.pending.keys), ["r2"])
        XCTAssertEqual(endpoint.closed(), [.complete(requestID: "r2", .failure(.recipientDisconnected))])
        XCTAssertEqual(RpcError.recipientDisconnected.code, 1503)
    }

    func testFailedSendEndsTheCall() {
        var endpoint = RpcEndpoint()
        _ = endpoint.call(id: "r1", destination: "bob", method: "m", payload: "", responseTimeoutMs: 10_000,
                          maxRoundTripMs: 7_000, nowMs: 0)
        XCTAssertEqual(endpoint.sendFailed(id: "r1"), [.complete(requestID: "r1", .failure(.sendFailed))])
        XCTAssertEqual(endpoint.sendFailed(id: "r1"), [])
    }

    // MARK: Callee

    func testRequestIsAcknowledgedThenHandedToItsHandler() throws {
        var endpoint = RpcEndpoint()
        endpoint.methods = ["echo"]
        let actions = try XCTUnwrap(endpoint.receive(request("r1", method: "echo", payload: "hello"), nowMs: 0))
        XCTAssertEqual(actions.count, 2)
        let ackPacket = try XCTUnwrap(sent(actions).first)
        XCTAssertEqual(ackPacket.destinationIdentities, ["alice"])
        XCTAssertEqual(ackPacket.rpcAck.requestID, "r1")
        XCTAssertEqual(actions[1], .invoke(RpcInvocation(requestID: "r1", callerIdentity: "alice", method: "echo",
                                                         payload: "hello", responseTimeout: .seconds(10))))
        let answered = sent(endpoint.handlerReturned(id: "r1", .success("olleh")))
        XCTAssertEqual(answered.count, 1)
        XCTAssertEqual(answered[0].destinationIdentities, ["alice"])
        XCTAssertEqual(answered[0].rpcResponse.requestID, "r1")
        XCTAssertEqual(answered[0].rpcResponse.payload, "olleh")
        // Answered once only.
        XCTAssertEqual(endpoint.handlerReturned(id: "r1", .success("again")), [])
    }

    func testAckAndUnsupportedMethodAreTheSDKsBytes() throws {
        var endpoint = RpcEndpoint()
        let actions = try XCTUnwrap(endpoint.receive(request("r1", method: "missing"), nowMs: 0))
        let packets = sent(actions)
        XCTAssertEqual(packets.count, 2)
        // DataPacket(destination_identities=['alice'], rpc_ack=RpcAck(request_id='r1'))
        XCTAssertEqual(hex(try packets[0].serializedBytes()), "2a05616c696365" + "5a04" + "0a027231")
        // DataPacket(destination_identities=['alice'], rpc_response=RpcResponse(request_id='r1',
        // error=RpcError(code=1400, message='Method not supported at destination')))
        XCTAssertEqual(hex(try packets[1].serializedBytes()),
                       "2a05616c696365" + "622e" + "0a027231" + "1a28" + "08f80a" + "1223"
                       + hex(Array("Method not supported at destination".utf8)))
        XCTAssertTrue(endpoint.handling.isEmpty)
    }

    func testOtherVersionsAreRefusedAfterTheAck() throws {
        var endpoint = RpcEndpoint()
        endpoint.methods = ["echo"]
        let packets = sent(try XCTUnwrap(endpoint.receive(request("r1", method: "echo", version: 2), nowMs: 0)))
        XCTAssertEqual(packets.map(\.rpcAck.requestID), ["r1", ""])
        XCTAssertEqual(packets[1].rpcResponse.error.code, 1404)
        XCTAssertEqual(packets[1].rpcResponse.error.message, "Unsupported RPC version")
    }

    func testOversizedResponseBecomesAnError() throws {
        var endpoint = RpcEndpoint()
        endpoint.methods = ["big"]
        _ = endpoint.receive(request("r1", method: "big"), nowMs: 0)
        let packets = sent(endpoint.handlerReturned(id: "r1", .success(String(repeating: "b", count: 15 * 1024 + 1))))
        XCTAssertEqual(packets.first?.rpcResponse.error.code, 1504)
        XCTAssertEqual(packets.first?.rpcResponse.error.message, "Response payload too large")
    }

    func testHandlerErrorsGoBackWithCodeMessageAndData() throws {
        var endpoint = RpcEndpoint()
        endpoint.methods = ["fail"]
        _ = endpoint.receive(request("r1", method: "fail"), nowMs: 0)
        let packets = sent(endpoint.handlerReturned(id: "r1", .failure(RpcError(code: 2001, message: "no", data: "d"))))
        XCTAssertEqual(packets.first?.rpcResponse.error.code, 2001)
        XCTAssertEqual(packets.first?.rpcResponse.error.message, "no")
        XCTAssertEqual(packets.first?.rpcResponse.error.data, "d")
    }

    func testRequestWithoutACallerIsIgnored() {
        var endpoint = RpcEndpoint()
        endpoint.methods = ["echo"]
        XCTAssertEqual(endpoint.receive(request("r1", method: "echo", from: ""), nowMs: 0), [])
    }

    func testOtherDataPacketsAreNotRPC() {
        var endpoint = RpcEndpoint()
        XCTAssertNil(endpoint.receive(packet(from: "bob") { $0.user.payload = Data("x".utf8) }, nowMs: 0))
    }

    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
