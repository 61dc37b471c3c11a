#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IP address, v4 or v6, as plain integers in network order so it hashes and compares
/// cheaply (ICE keys pairs and candidates by address).
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    case v6(UInt64, UInt64)

    /// Parses dotted IPv4 or textual IPv6 (`inet_pton`). Nil for anything else (hostnames,
    /// mDNS `.local` names, garbage).
    public init?(_ text: String) {
        if text.contains(":") {
            var raw = in6_addr()
            let ok = text.withCString { inet_pton(AF_INET6, $0, &raw) }
            guard ok == 1 else { return nil }
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            self.init(bytes: bytes)
        } else {
            var raw = in_addr()
            let ok = text.withCString { inet_pton(AF_INET, $0, &raw) }
            guard ok == 1 else { return nil }
            self = .v4(UInt32(bigEndian: raw.s_addr))
        }
    }

    /// From 4 or 16 bytes in network order.
    init?(bytes: [UInt8]) {
        switch bytes.count {
        case 4:
            self = .v4(bytes.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            self = .v6(high, low)
        default:
            return nil
        }
    }

    /// 4 or 16 bytes in network order.
    var bytes: [UInt8] {
        switch self {
        case .v4(let value):
            return (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
        case .v6(let high, let low):
            return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
                + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
        }
    }

    public var isIPv4: Bool { if case .v4 = self { return true } else { return false } }

    public var isLoopback: Bool {
        switch self {
        case .v4(let value): return value >> 24 == 127
        case .v6(let high, let low): return high == 0 && low == 1
        }
    }

    /// IPv6 link-local (fe80::/10): needs a scope id to be reachable, so ICE skips it.
    public var isLinkLocal: Bool {
        switch self {
        case .v4(let value): return value >> 16 == 0xA9FE
        case .v6(let high, _): return high >> 54 == 0x3FA
        }
    }

    public var description: String {
        var raw = bytes
        var buffer = [CChar](repeating: 0, count: 64)
        let family = isIPv4 ? AF_INET : AF_INET6
        let text = raw.withUnsafeMutableBytes { source in
            buffer.withUnsafeMutableBufferPointer { out -> String? in
                guard let base = out.baseAddress,
                      inet_ntop(family, source.baseAddress, base, socklen_t(out.count)) != nil else { return nil }
                return String(cString: base)
            }
        }
        return text ?? "?"
    }
}

/// RFC 8445 §3 "transport address": an IP address and a UDP port.
public struct TransportAddress: Hashable, Sendable, CustomStringConvertible {
    public var ip: IPAddress
    public var port: UInt16

    public init(ip: IPAddress, port: UInt16) {
        self.ip = ip
        self.port = port
    }

    /// `"10.99.0.1", 5000` → address; nil when the host is not a literal IP.
    public init?(host: String, port: UInt16) {
        guard let ip = IPAddress(host) else { return nil }
        self.init(ip: ip, port: port)
    }

    public var description: String {
        ip.isIPv4 ? "\(ip):\(port)" : "[\(ip)]:\(port)"
    }
}
