import Foundation
import LiveKitProtocol
import WebRTCData

/// RPC (LiveKit's, version 1) and the DataPackets of `_reliable` (docs/rpc.md, docs/WIRE.md):
/// the room performs what `RpcEndpoint` decides.
extension Room {
    // MARK: Calling

    func performRpc(destination: String, method: String, payload: String, responseTimeout: Duration,
                    maxRoundTrip: Duration) async throws(RpcError) -> String {
        guard state == .connected || state == .reconnecting else { throw .sendFailed }
        let id = UUID().uuidString.lowercased()
        let waiter = OneShot<Result<String, RpcError>>()
        rpcWaiters[id] = waiter
        let now = Self.monotonicMs()
        await perform(rpc.call(id: id, destination: destination, method: method, payload: payload,
                               responseTimeoutMs: Self.milliseconds(responseTimeout),
                               maxRoundTripMs: Self.milliseconds(maxRoundTrip), nowMs: now), requestID: id)
        scheduleRpcTimer()
        return try await waiter.value.get()
    }

    func registerRpcMethod(_ method: String, handler: @escaping RpcHandler) {
        rpcHandlers[method] = handler
        rpc.methods.insert(method)
    }

    func unregisterRpcMethod(_ method: String) {
        rpcHandlers[method] = nil
        rpc.methods.remove(method)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return max(0, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }

    /// One timer for every pending call: it wakes at the earliest deadline.
    private func scheduleRpcTimer() {
        guard let deadline = rpc.nextDeadlineMs else { return }
        if let armed = rpcTimerDeadlineMs, armed <= deadline { return }
        rpcTimerDeadlineMs = deadline
        rpcTimer?.cancel()
        rpcTimer = Task { [weak self] in
            let wait = deadline - Self.monotonicMs()
            if wait > 0 { try? await Task.sleep(for: .milliseconds(wait)) }
            guard !Task.isCancelled else { return }
            await self?.rpcTimerFired()
        }
    }

    private func rpcTimerFired() async {
        rpcTimerDeadlineMs = nil
        rpcTimer = nil
        await perform(rpc.tick(nowMs: Self.monotonicMs()))
        scheduleRpcTimer()
    }

    // MARK: Receiving

    /// One message from a `_reliable` channel. RPC packets go to the endpoint; other DataPackets
    /// (user data, chat, streams) are not read by this client and are counted.
    func receiveReliable(_ bytes: [UInt8], session: Int) async {
        guard session == generation else { return }
        let packet: Livekit_DataPacket
        do {
            packet = try Livekit_DataPacket(serializedBytes: bytes)
        } catch {
            statistics.malformedDataPackets += 1
            return
        }
        guard let actions = rpc.receive(packet, nowMs: Self.monotonicMs()) else {
            statistics.ignoredDataPackets += 1
            return
        }
        await perform(actions)
    }

    func rpcParticipantLeft(_ identity: String) {
        let actions = rpc.participantLeft(identity)
        Task { await self.perform(actions) }
    }

    func rpcClosed() {
        for action in rpc.closed() {
            if case .complete(let id, let result) = action { rpcWaiters.removeValue(forKey: id)?.fulfil(result) }
        }
        rpcTimer?.cancel()
        rpcTimer = nil
        rpcTimerDeadlineMs = nil
    }

    // MARK: Actions

    /// Carries out the endpoint's actions in order; `requestID` names the call whose request is
    /// among them (a failed send ends that call).
    private func perform(_ actions: [RpcEndpoint.Action], requestID: String? = nil) async {
        for action in actions {
            switch action {
            case .send(var packet):
                let sent = await sendReliable(&packet)
                if !sent, let requestID, case .rpcRequest? = packet.value {
                    await perform(rpc.sendFailed(id: requestID))
                }
            case .invoke(let invocation):
                let handler = rpcHandlers[invocation.method]
                Task { [weak self] in
                    let result: Result<String, RpcError>
                    do {
                        guard let handler else { throw RpcError.unsupportedMethod }
                        result = .success(try await handler(invocation))
                    } catch let error as RpcError {
                        result = .failure(error)
                    } catch {
                        result = .failure(.applicationError)
                    }
                    await self?.rpcHandlerReturned(id: invocation.requestID, result)
                }
            case .complete(let id, let result):
                rpcWaiters.removeValue(forKey: id)?.fulfil(result)
            }
        }
    }

    private func rpcHandlerReturned(id: String, _ result: Result<String, RpcError>) async {
        await perform(rpc.handlerReturned(id: id, result))
    }

    /// Sends a DataPacket on the publisher connection's `_reliable`, numbered as the SDKs number
    /// reliable packets (`sequence` from 1, so receivers can drop repeats after a resume).
    private func sendReliable(_ packet: inout Livekit_DataPacket) async -> Bool {
        guard let channel = reliableChannel else {
            statistics.dataPacketsNotSent += 1
            return false
        }
        reliableSequence &+= 1
        packet.sequence = reliableSequence
        guard let bytes: [UInt8] = try? packet.serializedBytes() else {
            statistics.dataPacketsNotSent += 1
            return false
        }
        do {
            try await channel.send(bytes)
            return true
        } catch {
            statistics.dataPacketsNotSent += 1
            return false
        }
    }
}

extension Room {
    /// Sends `update_metadata` with `attributes`; the server applies it (with the
    /// `canUpdateOwnMetadata` grant) and tells everyone. Not waited for: a refusal comes back as
    /// a `RequestResponse` and is counted (`Statistics.attributeUpdatesRefused`).
    func setAttributes(_ attributes: [String: String]) throws(RoomClientError) {
        guard state == .connected, let signal else { throw .notConnected }
        metadataRequestID &+= 1
        signal.send(SignalRequests.updateAttributes(attributes, requestID: metadataRequestID))
    }
}

extension LocalParticipant {
    /// Sets (or, with an empty value, deletes) attributes of the local participant, which every
    /// participant sees (`ParticipantInfo.attributes`); needs the `canUpdateOwnMetadata` grant.
    /// Returns once the request is sent.
    public func setAttributes(_ attributes: [String: String]) async throws(RoomClientError) {
        try await room.setAttributes(attributes)
    }

    /// Calls `method` on the participant `destinationIdentity` (LiveKit RPC, as the SDKs'
    /// `perform_rpc`) and returns its response payload. Throws the callee's `RpcError`, or one
    /// of the built-in ones: `requestPayloadTooLarge` (payload over 15 KiB), `connectionTimeout`
    /// (no acknowledgement within `maxRoundTripLatency`), `responseTimeout`,
    /// `recipientDisconnected`, `sendFailed`, `unsupportedMethod` (no such handler there).
    public func performRpc(destinationIdentity: String, method: String, payload: String,
                           responseTimeout: Duration = .seconds(10),
                           maxRoundTripLatency: Duration = .seconds(7)) async throws(RpcError) -> String {
        try await room.performRpc(destination: destinationIdentity, method: method, payload: payload,
                                  responseTimeout: responseTimeout, maxRoundTrip: maxRoundTripLatency)
    }

    /// Answers calls of `method` with `handler` (replacing an earlier one). Handlers run
    /// concurrently, one task per call.
    public func registerRpcMethod(_ method: String, handler: @escaping RpcHandler) async {
        await room.registerRpcMethod(method, handler: handler)
    }

    /// Calls of `method` are answered `unsupportedMethod` from now on.
    public func unregisterRpcMethod(_ method: String) async {
        await room.unregisterRpcMethod(method)
    }
}
