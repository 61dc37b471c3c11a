import Foundation
import HTTPTypes
import LiveKitProtocol
import Logging
import NIOCore
import Synchronization
import WSClient

/// One signaling WebSocket: binary protobuf `SignalRequest`s out, `SignalResponse`s in
/// (docs/WIRE.md). `responses` ends when the socket closes; `closeReason` then says why.
final class SignalConnection: Sendable {
    let responses: AsyncStream<Livekit_SignalResponse>
    private let outbound: AsyncStream<[UInt8]>.Continuation
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)
    let closeReason: Mutex<String?> = Mutex(nil)

    private init(responses: AsyncStream<Livekit_SignalResponse>, outbound: AsyncStream<[UInt8]>.Continuation) {
        self.responses = responses
        self.outbound = outbound
    }

    /// Opens the WebSocket at `url` with the token as `Authorization: Bearer` (as the Rust and
    /// Python SDKs send it); returns once the upgrade succeeded.
    static func open(url: String, token: String, timeout: Duration) async throws(RoomClientError) -> SignalConnection {
        let (responses, responseSink) = AsyncStream.makeStream(of: Livekit_SignalResponse.self)
        let (outboundStream, outboundSink) = AsyncStream.makeStream(of: [UInt8].self)
        let connection = SignalConnection(responses: responses, outbound: outboundSink)
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(token)"
        let configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 22, additionalHeaders: headers)
        var logger = Logger(label: "trackbag.signal")
        logger.logLevel = .critical
        let opened = OneShot<Result<Void, RoomClientError>>()

        let task = Task {
            do {
                try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, writer, _ in
                    opened.fulfil(.success(()))
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for await bytes in outboundStream {
                                try await writer.write(.binary(ByteBuffer(bytes: bytes)))
                            }
                            // close() finished the stream: a clean close frame.
                            try? await writer.close(.normalClosure, reason: nil)
                        }
                        group.addTask {
                            var iterator = inbound.messages(maxSize: 1 << 22).makeAsyncIterator()
                            while let message = try await iterator.next() {
                                guard case .binary(let buffer) = message else { continue }
                                do {
                                    responseSink.yield(try Livekit_SignalResponse(serializedBytes: Array(buffer.readableBytesView)))
                                } catch {
                                    connection.closeReason.withLock { $0 = $0 ?? "undecodable SignalResponse: \(error)" }
                                }
                            }
                        }
                        // Either side ending ends the connection.
                        try await group.next()
                        group.cancelAll()
                    }
                }
                connection.closeReason.withLock { $0 = $0 ?? "closed by server" }
            } catch {
                connection.closeReason.withLock { $0 = $0 ?? "\(error)" }
                opened.fulfil(.failure(.signalRefused(path: Self.withoutQuery(url), status: nil,
                                                      reason: Self.reason(for: error))))
            }
            opened.fulfil(.failure(.signalClosed("closed before the upgrade")))
            responseSink.finish()
            outboundSink.finish()
        }
        connection.task.withLock { $0 = task }
        let timeoutTask = Task {
            try? await Task.sleep(for: timeout)
            opened.fulfil(.failure(.timeout("WebSocket upgrade at \(url)")))
        }
        let result = await opened.value
        timeoutTask.cancel()
        if case .failure(let error) = result {
            connection.close()
            throw error
        }
        return connection
    }

    func send(_ request: Livekit_SignalRequest) {
        guard let bytes: [UInt8] = try? request.serializedBytes() else { return }
        outbound.yield(bytes)
    }

    /// Sends a close frame and ends the connection.
    func close() {
        outbound.finish()
        let task = task.withLock { $0 }
        Task {
            try? await Task.sleep(for: .seconds(2))
            task?.cancel()
        }
    }
}

/// A value set once and awaited by one waiter; later fulfils are ignored.
final class OneShot<Value: Sendable>: Sendable {
    private let state = Mutex<(value: Value?, waiter: CheckedContinuation<Value, Never>?)>((nil, nil))

    func fulfil(_ value: Value) {
        let waiter: CheckedContinuation<Value, Never>? = state.withLock { state in
            guard state.value == nil else { return nil }
            state.value = value
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: value)
    }

    var value: Value {
        get async {
            await withCheckedContinuation { continuation in
                let ready: Value? = state.withLock { state in
                    if let value = state.value { return value }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}

extension SignalConnection {
    /// The URL without its query: `/rtc/v1`'s query carries the whole join request (the SDP
    /// offer, hundreds of base64 characters), which says nothing to a person reading an error.
    static func withoutQuery(_ url: String) -> String {
        url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
    }

    /// One line for why a WebSocket could not be opened: the socket error when there is one
    /// (NIO's own description nests it in several wrappers).
    static func reason(for error: any Error) -> String {
        let text = "\(error)"
        for (needle, said) in [("Connection refused", "connection refused"), ("No route to host", "no route to host"),
                               ("Network is unreachable", "network unreachable"), ("timed out", "connection timed out"),
                               ("Name or service not known", "unknown host"), ("nodename nor servname", "unknown host")]
        where text.contains(needle) {
            return said
        }
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }
}
