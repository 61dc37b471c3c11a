/// Which candidates a peer may make our full agent check (RFC 8445 §5.1.3 leaves the choice
/// of pairs to the agent; §6.1.2.5 bounds the check list). A remote candidate is only an
/// address the peer names: without a filter a participant could point the server's checks at
/// services on the server's own loopback, at a multicast group or the broadcast address, or
/// grow its candidate list without end by trickling.
///
/// Refused always: the unspecified address (`0.0.0.0`, `::`), port 0, multicast (`224/4`,
/// `ff00::/8`) and the limited broadcast `255.255.255.255`; loopback (`127/8`, `::1`) unless
/// `allowLoopback`. Past `maxCandidates` further candidates are refused, peer-reflexive ones
/// learned from checks included. Refusals are counted in `ICECounters.refusedCandidates`.
///
/// Limits of other stacks, for comparison: libwebrtc and pion keep every candidate but bound
/// the pairs they check; our agent also keeps at most `ICEAgent.Configuration.maxPairs` (100)
/// pairs. Real clients send a handful of candidates (one host per interface, server-reflexive,
/// relayed over UDP/TCP/TLS), so 64 leaves room for a host with many interfaces.
public struct RemoteCandidatePolicy: Hashable, Sendable {
    /// Check loopback candidates (a client's default: a local server may advertise 127.0.0.1).
    public var allowLoopback: Bool
    /// Most remote candidates kept per agent.
    public var maxCandidates: Int

    public init(allowLoopback: Bool = true, maxCandidates: Int = 64) {
        self.allowLoopback = allowLoopback
        self.maxCandidates = maxCandidates
    }

    /// A server's policy: loopback candidates only when the server itself runs on loopback
    /// alone (a local test or demo, where no other address could reach it); a server with any
    /// other address refuses them, so a participant cannot aim its checks at the server host.
    public static func server(boundTo addresses: [TransportAddress]) -> RemoteCandidatePolicy {
        RemoteCandidatePolicy(allowLoopback: !addresses.isEmpty && addresses.allSatisfy(\.ip.isLoopback))
    }

    /// Whether `address` may be checked.
    public func accepts(_ address: TransportAddress) -> Bool {
        guard address.port != 0, !address.ip.isUnspecified, !address.ip.isMulticast, !address.ip.isBroadcast else {
            return false
        }
        return allowLoopback || !address.ip.isLoopback
    }
}

extension IPAddress {
    /// `0.0.0.0` or `::`: "this host", never a destination (RFC 1122 §3.2.1.3, RFC 4291 §2.5.2).
    public var isUnspecified: Bool {
        switch self {
        case .v4(let value): return value == 0
        case .v6(let high, let low): return high == 0 && low == 0
        }
    }

    /// `224.0.0.0/4` or `ff00::/8` (RFC 5771, RFC 4291 §2.7).
    public var isMulticast: Bool {
        switch self {
        case .v4(let value): return value >> 28 == 0xE
        case .v6(let high, _): return high >> 56 == 0xFF
        }
    }

    /// The limited broadcast address `255.255.255.255` (RFC 919).
    public var isBroadcast: Bool {
        if case .v4(let value) = self { return value == 0xFFFF_FFFF }
        return false
    }
}
