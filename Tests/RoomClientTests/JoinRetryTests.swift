@testable import RoomClient
import Foundation
import Synchronization
import XCTest

/// `connect` tries again when an attempt fails on the way (RoomOptions.joinRetries), and not
/// when the server refused: driven against a loopback listener that answers each upgrade
/// request the way a test asks.
final class JoinRetryTests: XCTestCase {
    /// A TCP listener on 127.0.0.1 that counts connections and either never answers (a link
    /// that lost the server's replies) or answers every request with `reply`.
    final class Listener: @unchecked Sendable {
        let port: UInt16
        private let fd: Int32
        private let accepted = Mutex(0)
        private var held: [Int32] = []
        private let lock = NSLock()

        init(reply: String?) throws {
            let listening = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listening, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listening, $0, &length) }
            }
            guard listening >= 0, bound == 0, named == 0, listen(listening, 16) == 0 else {
                close(listening)
                throw POSIXError(.EADDRINUSE)
            }
            fd = listening
            port = UInt16(bigEndian: address.sin_port)
            Thread.detachNewThread { [self] in
                while true {
                    let client = accept(listening, nil, nil)
                    guard client >= 0 else { return }
                    accepted.withLock { $0 += 1 }
                    guard let reply else {
                        lock.withLock { held.append(client) }
                        continue
                    }
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    _ = read(client, &buffer, buffer.count)
                    _ = reply.utf8CString.withUnsafeBufferPointer { write(client, $0.baseAddress, $0.count - 1) }
                    close(client)
                }
            }
        }

        var connections: Int { accepted.withLock { $0 } }

        func stop() {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
            lock.withLock { for client in held { close(client) } }
        }
    }

    func testAnAttemptThatTimesOutIsMadeAgainUpToJoinRetries() async throws {
        let listener = try Listener(reply: nil)
        defer { listener.stop() }
        let room = Room()
        let options = RoomOptions(addresses: [], timeout: .milliseconds(200), joinRetries: 2)
        do {
            try await room.connect(url: "ws://127.0.0.1:\(listener.port)", token: "t", options: options)
            XCTFail("connect succeeded against a silent listener")
        } catch {
            guard case .joinFailed(let attempts, let last) = error, case .timeout = last else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(attempts, 3)
            XCTAssertTrue("\(error)".hasSuffix("(3 attempts)"), "\(error)")
        }
        XCTAssertEqual(listener.connections, 3, "one upgrade request per attempt")
        let retries = await room.statistics.joinRetries
        XCTAssertEqual(retries, 2)
    }

    func testARefusalIsNotRetried() async throws {
        let listener = try Listener(reply: "HTTP/1.1 401 Unauthorized\r\nContent-Length: 13\r\nConnection: close\r\n\r\ninvalid token")
        defer { listener.stop() }
        let room = Room()
        let options = RoomOptions(addresses: [], timeout: .seconds(5), joinRetries: 3)
        do {
            try await room.connect(url: "ws://127.0.0.1:\(listener.port)", token: "t", options: options)
            XCTFail("connect succeeded against a refusing server")
        } catch {
            guard case .signalRefused(_, let status, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(status, 401)
        }
        // The upgrade and the validate probe that reads the server's reason, once.
        XCTAssertEqual(listener.connections, 2)
        let retries = await room.statistics.joinRetries
        XCTAssertEqual(retries, 0)
    }
}
