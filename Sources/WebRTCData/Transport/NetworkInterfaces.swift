#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The host's interface addresses (getifaddrs), for host candidates (RFC 8445 §5.1.1.1).
public enum NetworkInterfaces {
    public struct Address: Hashable, Sendable {
        public var interface: String
        public var ip: IPAddress
    }

    /// Addresses of interfaces that are up. Loopback only when asked (libwebrtc never gathers it,
    /// README.md, "Tests"); IPv6 link-local always skipped (needs a scope id, and peers ignore it).
    public static func addresses(includeLoopback: Bool = false, includeIPv6: Bool = true) -> [Address] {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0, let first = head else { return [] }
        defer { freeifaddrs(head) }
        var result: [Address] = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            let flags = Int32(bitPattern: entry.pointee.ifa_flags)
            guard flags & Int32(IFF_UP) != 0, flags & Int32(IFF_RUNNING) != 0 || flags & Int32(IFF_LOOPBACK) != 0,
                  let socketAddress = entry.pointee.ifa_addr else { continue }
            let isLoopback = flags & Int32(IFF_LOOPBACK) != 0
            if isLoopback && !includeLoopback { continue }
            let name = String(cString: entry.pointee.ifa_name)
            let ip: IPAddress?
            switch Int32(socketAddress.pointee.sa_family) {
            case AF_INET:
                ip = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    IPAddress.v4(UInt32(bigEndian: $0.pointee.sin_addr.s_addr))
                }
            case AF_INET6 where includeIPv6:
                ip = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    var raw = pointer.pointee.sin6_addr
                    return IPAddress(bytes: withUnsafeBytes(of: &raw) { Array($0) })
                }
            default:
                ip = nil
            }
            guard let ip, !ip.isLinkLocal else { continue }
            result.append(Address(interface: name, ip: ip))
        }
        return result
    }
}
