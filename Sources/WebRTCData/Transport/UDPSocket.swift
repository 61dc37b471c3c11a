#if canImport(Glibc)
import Glibc
// usrsctp.h (CUsrsctp, used by SCTP/ in this module) includes <sys/socket.h> textually, so in a
// whole-module (release) build the __socket_type enum (SOCK_DGRAM, SOCK_NONBLOCK…) may be owned
// by CUsrsctp and invisible to a file importing only Glibc. Importing it here keeps -c release
// building. (Added by webrtc-dtls when merging; remove if the SCTP shim stops leaking headers.)
import CUsrsctp
#elseif canImport(Darwin)
import Darwin
#endif
#if os(Linux)
import CUDP
#endif

/// One UDP socket bound to one advertised address (never the wildcard: replies must leave from
/// the address the peer checked, RFC 8445 §7.2.5.2.1 symmetry). Non-blocking; the receive loop
/// (`UDPReceiveLoop`) polls it. Sending is a single `sendto`, or for datagrams that leave
/// together one `sendmmsg` per up to `maxSendBatch` of them (`send(batch:to:)`), safe from any
/// thread.
final class UDPSocket: Sendable {
    /// docs/WIRE.md, "Sockets": with 256 KiB the kernel dropped thousands of datagrams per run
    /// and a lossy channel collapsed; 4 MiB dropped none.
    static let bufferSize: Int32 = 4 << 20

    let fileDescriptor: Int32
    let localAddress: TransportAddress

    /// Binds to `address` (port 0 picks a free port) with large buffers.
    init(binding address: TransportAddress) throws(WebRTCDataError) {
        let family = address.ip.isIPv4 ? AF_INET : AF_INET6
        #if canImport(Glibc)
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(family, SOCK_DGRAM, 0)
        #endif
        guard fd >= 0 else { throw Self.systemError("socket", address) }
        var size = UDPSocket.bufferSize
        // SO_*BUFFORCE (root/CAP_NET_ADMIN) ignores net.core.rmem_max; fall back when refused.
        #if canImport(Glibc)
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, 4) != 0 { _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, 4) }
        if setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, 4) != 0 { _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, 4) }
        #else
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, 4)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, 4)
        #endif
        if family == AF_INET6 {
            var on: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, 4)
        }
        var storage = UDPSocket.socketAddress(address)
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, UDPSocket.length(of: address)) }
        }
        guard bound == 0 else {
            let error = Self.systemError("bind", address)
            close(fd)
            throw error
        }
        var actual = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fileDescriptor = fd
        self.localAddress = UDPSocket.transportAddress(actual) ?? address
    }

    deinit { close(fileDescriptor) }

    /// The receive buffer the kernel granted (doubled by Linux for bookkeeping).
    var receiveBufferSize: Int {
        var size: Int32 = 0
        var length = socklen_t(4)
        _ = getsockopt(fileDescriptor, SOL_SOCKET, SO_RCVBUF, &size, &length)
        return Int(size)
    }

    /// Sends one datagram; false when the kernel refused it (buffer full, unreachable).
    @discardableResult
    func send(_ datagram: [UInt8], to remote: TransportAddress) -> Bool {
        guard remote.ip.isIPv4 == localAddress.ip.isIPv4 else { return false }
        var storage = UDPSocket.socketAddress(remote)
        let sent = datagram.withUnsafeBytes { bytes in
            withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fileDescriptor, bytes.baseAddress, bytes.count, 0, $0, UDPSocket.length(of: remote))
                }
            }
        }
        return sent == datagram.count
    }

    /// Most datagrams one `sendmmsg` carries (its headers live on the caller's stack).
    static let maxSendBatch = 64

    /// Sends `datagrams` to `remote`, in order, with as few system calls as the kernel allows:
    /// on Linux `sendmmsg(2)`, which may take fewer than it was given, so each call goes on
    /// from the first datagram not taken. A datagram the kernel refuses (buffer full: EAGAIN,
    /// ENOBUFS; too long) is counted in `refused` and skipped, as a refused `send` is: never
    /// waited or spun on. `sent + refused == datagrams.count`.
    @discardableResult
    func send(batch datagrams: [[UInt8]], to remote: TransportAddress) -> (sent: Int, refused: Int) {
        guard remote.ip.isIPv4 == localAddress.ip.isIPv4 else { return (0, datagrams.count) }
        #if os(Linux)
        var storage = UDPSocket.socketAddress(remote)
        let nameLength = UDPSocket.length(of: remote)
        var total = (sent: 0, refused: 0)
        withUnsafeMutablePointer(to: &storage) { name in
            var start = datagrams.startIndex
            while start < datagrams.endIndex {
                let end = min(start + UDPSocket.maxSendBatch, datagrams.endIndex)
                let part = sendChunk(datagrams[start..<end], name: UnsafeMutableRawPointer(name), nameLength: nameLength)
                total.sent += part.sent
                total.refused += part.refused
                start = end
            }
        }
        return total
        #else
        var total = (sent: 0, refused: 0)
        for datagram in datagrams {
            if send(datagram, to: remote) { total.sent += 1 } else { total.refused += 1 }
        }
        return total
        #endif
    }

    #if os(Linux)
    /// One `sendmmsg` batch (at most `maxSendBatch`), the datagrams' own storage pointed at,
    /// not copied.
    private func sendChunk(_ datagrams: ArraySlice<[UInt8]>, name: UnsafeMutableRawPointer,
                           nameLength: socklen_t) -> (sent: Int, refused: Int) {
        let count = datagrams.count
        return withUnsafeTemporaryAllocation(of: iovec.self, capacity: count) { vectors in
            withUnsafeTemporaryAllocation(of: cudp_mmsghdr.self, capacity: count) { headers in
                UDPSocket.withPinned(datagrams, vectors: vectors.baseAddress!) {
                    for index in 0..<count {
                        var header = cudp_mmsghdr()
                        header.msg_hdr.msg_name = name
                        header.msg_hdr.msg_namelen = nameLength
                        header.msg_hdr.msg_iov = vectors.baseAddress! + index
                        header.msg_hdr.msg_iovlen = 1
                        headers[index] = header
                    }
                    var sent = 0
                    var refused = 0
                    var next = 0
                    while next < count {
                        let result = cudp_sendmmsg(fileDescriptor, headers.baseAddress! + next, UInt32(count - next), 0)
                        if result > 0 {
                            // Partial progress: go on from the first datagram not taken.
                            sent += Int(result)
                            next += Int(result)
                        } else if result < 0 && errno == EINTR {
                            continue
                        } else {
                            // The kernel refused datagram `next` (an error after a partial
                            // send is reported by the next call, i.e. for this datagram).
                            refused += 1
                            next += 1
                        }
                    }
                    return (sent, refused)
                }
            }
        }
    }

    /// Runs `body` with `vectors[i]` pointing at datagram i's bytes, each array's storage held
    /// in place for the whole call (one nested `withUnsafeBytes` per datagram).
    private static func withPinned<R>(_ datagrams: ArraySlice<[UInt8]>, vectors: UnsafeMutablePointer<iovec>,
                                      _ body: () -> R) -> R {
        guard let first = datagrams.first else { return body() }
        return first.withUnsafeBytes { bytes in
            vectors.pointee = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
            return withPinned(datagrams.dropFirst(), vectors: vectors + 1, body)
        }
    }
    #endif

    /// Reads one datagram if one is waiting; nil when none (EAGAIN).
    func receive(into buffer: inout [UInt8]) -> (count: Int, from: TransportAddress)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let count = buffer.withUnsafeMutableBytes { bytes in
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(fileDescriptor, bytes.baseAddress, bytes.count, 0, $0, &length)
                }
            }
        }
        guard count >= 0, let from = UDPSocket.transportAddress(storage) else { return nil }
        return (count, from)
    }

    static func socketAddress(_ address: TransportAddress) -> sockaddr_storage {
        var storage = sockaddr_storage()
        switch address.ip {
        case .v4(let value):
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                    pointer.pointee.sin_family = sa_family_t(AF_INET)
                    pointer.pointee.sin_port = address.port.bigEndian
                    pointer.pointee.sin_addr.s_addr = value.bigEndian
                }
            }
        case .v6:
            let bytes = address.ip.bytes
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    pointer.pointee.sin6_family = sa_family_t(AF_INET6)
                    pointer.pointee.sin6_port = address.port.bigEndian
                    withUnsafeMutableBytes(of: &pointer.pointee.sin6_addr) { raw in
                        for index in 0..<16 { raw[index] = bytes[index] }
                    }
                }
            }
        }
        return storage
    }

    static func length(of address: TransportAddress) -> socklen_t {
        socklen_t(address.ip.isIPv4 ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
    }

    static func transportAddress(_ storage: sockaddr_storage) -> TransportAddress? {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    TransportAddress(ip: .v4(UInt32(bigEndian: $0.pointee.sin_addr.s_addr)), port: UInt16(bigEndian: $0.pointee.sin_port))
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    var raw = pointer.pointee.sin6_addr
                    guard let ip = IPAddress(bytes: withUnsafeBytes(of: &raw) { Array($0) }) else { return nil }
                    return TransportAddress(ip: ip, port: UInt16(bigEndian: pointer.pointee.sin6_port))
                }
            }
        default:
            return nil
        }
    }

    private static func systemError(_ call: String, _ address: TransportAddress) -> WebRTCDataError {
        WebRTCDataError(.transport, .socket, at: "\(address)", "\(call): \(String(cString: strerror(errno)))")
    }
}

extension WebRTCDataError.Reason {
    static let socket = Self("socket")
}
