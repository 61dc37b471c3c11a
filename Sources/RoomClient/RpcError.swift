/// An RPC failure, as LiveKit's SDKs report it (`RpcError` in every SDK): a code, a readable
/// message and optional data. Codes 1001…1999 are the SDKs' own (the static members below, with
/// the SDKs' exact messages); a handler may throw any other code and the caller receives it as
/// thrown. docs/rpc.md lists them.
public struct RpcError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var data: String

    public init(code: Int, message: String, data: String = "") {
        self.code = code
        self.message = message
        self.data = data
    }

    /// The handler threw something that is not an `RpcError`.
    public static let applicationError = RpcError(code: 1500, message: "Application error in method handler")
    /// No `rpc_ack` within the maximum round trip (7 s by default).
    public static let connectionTimeout = RpcError(code: 1501, message: "Connection timeout")
    /// Acknowledged, but no `rpc_response` within the response timeout.
    public static let responseTimeout = RpcError(code: 1502, message: "Response timeout")
    /// The callee left the room (or we did) before answering.
    public static let recipientDisconnected = RpcError(code: 1503, message: "Recipient disconnected")
    /// The handler's answer is over 15 KiB.
    public static let responsePayloadTooLarge = RpcError(code: 1504, message: "Response payload too large")
    /// The request could not be sent (no `_reliable` channel: not connected, or re-joining).
    public static let sendFailed = RpcError(code: 1505, message: "Failed to send")
    /// The callee has no handler for the method.
    public static let unsupportedMethod = RpcError(code: 1400, message: "Method not supported at destination")
    public static let recipientNotFound = RpcError(code: 1401, message: "Recipient not found")
    /// The request payload is over 15 KiB (refused before sending).
    public static let requestPayloadTooLarge = RpcError(code: 1402, message: "Request payload too large")
    public static let unsupportedServer = RpcError(code: 1403, message: "RPC not supported by server")
    /// The request's `version` is not 1.
    public static let unsupportedVersion = RpcError(code: 1404, message: "Unsupported RPC version")

    public var description: String {
        "RPC error \(code): \(message)" + (data.isEmpty ? "" : " (\(data))")
    }
}

/// One incoming call, handed to the method's handler.
public struct RpcInvocation: Sendable, Equatable {
    /// The caller's request id (a UUID), the same on both sides.
    public var requestID: String
    /// The caller, as the server stamped it (never what the caller claims).
    public var callerIdentity: String
    public var method: String
    public var payload: String
    /// How long the caller waits for the answer.
    public var responseTimeout: Duration
}

/// A registered method: returns the response payload (at most 15 KiB of UTF-8), or throws an
/// `RpcError` the caller receives as it is; any other error reaches the caller as
/// `RpcError.applicationError`.
public typealias RpcHandler = @Sendable (RpcInvocation) async throws -> String
