import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The HTTP status of a plain GET, to tell why a WebSocket upgrade failed: the upgrade client
/// reports only "not upgraded", but LiveKit clients fall back from `/rtc/v1` to `/rtc` only on
/// 404 and must show a 401's reason (rust-sdks `signal_client` asks `/rtc/validate` the same
/// way). Plain `ws://` only; a short blocking exchange on a detached thread.
enum HTTPStatusProbe {
    struct Response: Sendable, Equatable {
        var status: Int
        var body: String
    }

    /// Parses `HTTP/1.1 404 Not Found\r\n…\r\n\r\nbody`.
    static func parse(_ bytes: [UInt8]) -> Response? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let firstLine = text.split(separator: "\r\n", maxSplits: 1).first else { return nil }
        let parts = firstLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else { return nil }
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return Response(status: status, body: body.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func get(host: String, port: Int, pathAndQuery: String, token: String) async -> Response? {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: blockingGet(host: host, port: port, pathAndQuery: pathAndQuery, token: token))
            }
        }
    }

    private static func blockingGet(host: String, port: Int, pathAndQuery: String, token: String) -> Response? {
        #if canImport(Glibc)
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else { return nil }
        let request = "GET \(pathAndQuery) HTTP/1.1\r\nHost: \(host):\(port)\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n"
        let sent = request.utf8CString.withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count - 1, 0) }
        guard sent > 0 else { return nil }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.count < 65536 {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received.append(contentsOf: buffer[0..<count])
        }
        return parse(received)
        #else
        return nil
        #endif
    }
}
