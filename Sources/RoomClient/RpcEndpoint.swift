import LiveKitProtocol

/// LiveKit RPC, version 1, for one participant: the calls it makes and the calls it answers,
/// as DataPackets on `_reliable` addressed with `destination_identities` (docs/WIRE.md, "RPC").
/// A pure state machine: packets and the time go in, actions come out; the room performs them.
///
/// Caller: `rpc_request {id, method, payload, response_timeout_ms, version: 1}` to the callee;
/// the call ends with the callee's `rpc_response` (payload or error), or with
/// `connectionTimeout` when no `rpc_ack` came within the maximum round trip, `responseTimeout`
/// when no response came within the response timeout (both counted from the send, as the SDKs
/// do), `recipientDisconnected` when the callee leaves or we do. A response that overtakes its
/// ack is accepted.
///
/// Callee: every request is acknowledged at once, so the caller knows it arrived however long
/// the handler takes; then a request of another version is answered `unsupportedVersion`, one
/// for a method without a handler `unsupportedMethod`, and the rest go to their handler, whose
/// answer becomes the `rpc_response` (over 15 KiB: `responsePayloadTooLarge`).
struct RpcEndpoint: Sendable {
    /// LiveKit's limit on request and response payloads (UTF-8 bytes).
    static let maxPayloadBytes = 15 * 1024
    static let version: UInt32 = 1

    enum Action: Equatable, Sendable {
        /// Send on `_reliable`.
        case send(Livekit_DataPacket)
        /// Run the handler of `invocation.method`, then report with `handlerReturned`.
        case invoke(RpcInvocation)
        /// Our call `requestID` ended.
        case complete(requestID: String, Result<String, RpcError>)
    }

    struct PendingCall: Equatable, Sendable {
        var destination: String
        /// Nil once acknowledged.
        var ackDeadlineMs: Int64?
        var responseDeadlineMs: Int64
    }

    /// Methods with a handler.
    var methods: Set<String> = []
    /// Our calls waiting for their ack and response, by request id.
    private(set) var pending: [String: PendingCall] = [:]
    /// Requests whose handler runs: request id → caller identity (where the response goes).
    private(set) var handling: [String: String] = [:]
    /// Acks and responses for no call of ours (late, after a timeout, or not ours).
    private(set) var unmatched = 0

    // MARK: Calling

    /// Starts a call: the request to send, or the call ended at once (payload too large).
    mutating func call(id: String, destination: String, method: String, payload: String,
                       responseTimeoutMs: Int64, maxRoundTripMs: Int64, nowMs: Int64) -> [Action] {
        guard payload.utf8.count <= Self.maxPayloadBytes else {
            return [.complete(requestID: id, .failure(.requestPayloadTooLarge))]
        }
        var request = Livekit_RpcRequest()
        request.id = id
        request.method = method
        request.payload = payload
        request.responseTimeoutMs = UInt32(clamping: responseTimeoutMs)
        request.version = Self.version
        var packet = Livekit_DataPacket()
        packet.kind = .reliable
        packet.destinationIdentities = [destination]
        packet.rpcRequest = request
        pending[id] = PendingCall(destination: destination, ackDeadlineMs: nowMs + maxRoundTripMs,
                                  responseDeadlineMs: nowMs + responseTimeoutMs)
        return [.send(packet)]
    }

    /// The request of call `id` could not be sent.
    mutating func sendFailed(id: String) -> [Action] {
        guard pending.removeValue(forKey: id) != nil else { return [] }
        return [.complete(requestID: id, .failure(.sendFailed))]
    }

    /// Calls whose deadline passed.
    mutating func tick(nowMs: Int64) -> [Action] {
        var actions: [Action] = []
        for (id, call) in pending.sorted(by: { $0.key < $1.key }) {
            if let ack = call.ackDeadlineMs, nowMs >= ack {
                pending[id] = nil
                actions.append(.complete(requestID: id, .failure(.connectionTimeout)))
            } else if nowMs >= call.responseDeadlineMs {
                pending[id] = nil
                actions.append(.complete(requestID: id, .failure(.responseTimeout)))
            }
        }
        return actions
    }

    /// The earliest deadline of a pending call, for the room's timer.
    var nextDeadlineMs: Int64? {
        pending.values.map { min($0.ackDeadlineMs ?? .max, $0.responseDeadlineMs) }.min()
    }

    /// `identity` left the room: our calls to it end.
    mutating func participantLeft(_ identity: String) -> [Action] {
        var actions: [Action] = []
        for (id, call) in pending.sorted(by: { $0.key < $1.key }) where call.destination == identity {
            pending[id] = nil
            actions.append(.complete(requestID: id, .failure(.recipientDisconnected)))
        }
        handling = handling.filter { $0.value != identity }
        return actions
    }

    /// We left the room: every call ends, no response is owed.
    mutating func closed() -> [Action] {
        let ids = pending.keys.sorted()
        pending = [:]
        handling = [:]
        return ids.map { .complete(requestID: $0, .failure(.recipientDisconnected)) }
    }

    // MARK: Receiving

    /// A DataPacket from `_reliable`; packets that are not RPC return nil (not ours to handle).
    mutating func receive(_ packet: Livekit_DataPacket, nowMs: Int64) -> [Action]? {
        switch packet.value {
        case .rpcRequest(let request)?:
            return receiveRequest(request, caller: packet.participantIdentity)
        case .rpcAck(let ack)?:
            if pending[ack.requestID] != nil {
                pending[ack.requestID]?.ackDeadlineMs = nil
            } else {
                unmatched += 1
            }
            return []
        case .rpcResponse(let response)?:
            guard pending.removeValue(forKey: response.requestID) != nil else {
                unmatched += 1
                return []
            }
            let result: Result<String, RpcError>
            switch response.value {
            case .payload(let payload)?: result = .success(payload)
            case .error(let error)?:
                result = .failure(RpcError(code: Int(error.code), message: error.message, data: error.data))
            case .compressedPayload?:
                // Only sent to participants announcing RPC over data streams, which we do not.
                result = .failure(RpcError(code: RpcError.applicationError.code,
                                           message: "compressed RPC response (not supported by this client)"))
            case nil: result = .success("")
            }
            return [.complete(requestID: response.requestID, result)]
        default:
            return nil
        }
    }

    private mutating func receiveRequest(_ request: Livekit_RpcRequest, caller: String) -> [Action] {
        // The server stamps the sender; without one there is nobody to answer.
        guard !caller.isEmpty, !request.id.isEmpty else { return [] }
        var ack = Livekit_RpcAck()
        ack.requestID = request.id
        var actions: [Action] = [.send(Self.packet(to: caller) { $0.rpcAck = ack })]
        if request.version != Self.version {
            actions.append(.send(Self.response(to: caller, id: request.id, .failure(.unsupportedVersion))))
        } else if !methods.contains(request.method) {
            actions.append(.send(Self.response(to: caller, id: request.id, .failure(.unsupportedMethod))))
        } else {
            handling[request.id] = caller
            actions.append(.invoke(RpcInvocation(requestID: request.id, callerIdentity: caller, method: request.method,
                                                 payload: request.payload,
                                                 responseTimeout: .milliseconds(Int64(request.responseTimeoutMs)))))
        }
        return actions
    }

    /// The handler of request `id` finished: its response to the caller.
    mutating func handlerReturned(id: String, _ result: Result<String, RpcError>) -> [Action] {
        guard let caller = handling.removeValue(forKey: id) else { return [] }
        var outcome = result
        if case .success(let payload) = result, payload.utf8.count > Self.maxPayloadBytes {
            outcome = .failure(.responsePayloadTooLarge)
        }
        return [.send(Self.response(to: caller, id: id, outcome))]
    }

    // MARK: Packets

    static func response(to caller: String, id: String, _ result: Result<String, RpcError>) -> Livekit_DataPacket {
        var response = Livekit_RpcResponse()
        response.requestID = id
        switch result {
        case .success(let payload): response.payload = payload
        case .failure(let error):
            var wire = Livekit_RpcError()
            wire.code = UInt32(clamping: error.code)
            wire.message = error.message
            wire.data = error.data
            response.error = wire
        }
        return packet(to: caller) { $0.rpcResponse = response }
    }

    static func packet(to identity: String, _ fill: (inout Livekit_DataPacket) -> Void) -> Livekit_DataPacket {
        var packet = Livekit_DataPacket()
        packet.kind = .reliable
        packet.destinationIdentities = [identity]
        fill(&packet)
        return packet
    }
}
