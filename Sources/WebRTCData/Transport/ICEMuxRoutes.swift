/// The routing table of a shared UDP port (`ICEUDPMux`): which registered ICE transport, named
/// by its local ufrag, gets a datagram from a remote address. Pure: no socket, no lock.
///
/// RFC 8445 §7.3 names a check's target by USERNAME, but a USERNAME proves nothing until the
/// target's agent has checked MESSAGE-INTEGRITY and FINGERPRINT (RFC 8489 §9.2). So:
/// - an address is bound to a transport only when that transport's agent authenticated a check
///   from it (`bindAuthenticated`), or, tentatively, when the transport itself sends a check to
///   it (`claim`: a full agent's responses may come back before the peer's own first check);
/// - an authenticated binding stays with its transport until that transport unregisters: a
///   Binding request naming another transport from a bound address goes to the bound transport,
///   whose agent refuses it. Knowing its own session's password, any participant could
///   otherwise authenticate a request for its own session from a victim's (spoofed) address and
///   take the victim's traffic (pion's UDP mux routes a known address the same way);
/// - a request from an unbound or tentatively bound address goes to the transport it names, and
///   binds nothing by itself.
///
/// Each transport holds at most `maxAuthenticated` authenticated and `maxClaimed` tentative
/// addresses (the newest; older ones are forgotten), so no peer can grow the table, whatever
/// source addresses it authenticates from or makes us answer.
struct ICEMuxRoutes: Sendable {
    static let maxAuthenticated = 16
    /// Above what a full agent checks (`ICEAgent.Configuration.maxPairs`, 100).
    static let maxClaimed = 128

    private struct Route: Sendable {
        var ufrag: String
        /// The transport's agent authenticated a request or response from this address.
        var authenticated: Bool
    }

    private var ufrags: Set<String> = []
    private var byRemote: [TransportAddress: Route] = [:]
    private var authenticatedBy: [String: RecentAddresses] = [:]
    private var claimedBy: [String: RecentAddresses] = [:]

    /// Addresses bound, authenticated or not.
    var boundCount: Int { byRemote.count }

    /// False when `ufrag` is routed already (routing would be ambiguous).
    mutating func register(ufrag: String) -> Bool {
        ufrags.insert(ufrag).inserted
    }

    /// Forgets `ufrag` and every address bound to it.
    mutating func unregister(ufrag: String) {
        guard ufrags.remove(ufrag) != nil else { return }
        authenticatedBy[ufrag] = nil
        claimedBy[ufrag] = nil
        byRemote = byRemote.filter { $0.value.ufrag != ufrag }
    }

    /// The ufrag of the transport that gets `datagram` from `remote`, or nil (drop and count).
    func target(of datagram: [UInt8], from remote: TransportAddress) -> String? {
        let route = byRemote[remote]
        if let route, route.authenticated { return route.ufrag }
        if let named = Self.requestedUfrag(datagram), ufrags.contains(named) { return named }
        return route?.ufrag
    }

    /// `ufrag`'s agent authenticated a check from `remote`: route it there, unless another
    /// live transport holds it by authentication already.
    mutating func bindAuthenticated(remote: TransportAddress, ufrag: String) {
        guard ufrags.contains(ufrag) else { return }
        if let existing = byRemote[remote] {
            if existing.authenticated {
                guard existing.ufrag == ufrag else { return }
            } else {
                claimedBy[existing.ufrag]?.remove(remote)
            }
        }
        byRemote[remote] = Route(ufrag: ufrag, authenticated: true)
        if let evicted = authenticatedBy[ufrag, default: RecentAddresses(capacity: Self.maxAuthenticated)].insert(remote),
           byRemote[evicted]?.ufrag == ufrag {
            byRemote[evicted] = nil
        }
    }

    /// `ufrag` sends a check to `remote`: route what comes back from it there, unless the
    /// address is bound already.
    mutating func claim(remote: TransportAddress, ufrag: String) {
        guard ufrags.contains(ufrag), byRemote[remote] == nil else { return }
        byRemote[remote] = Route(ufrag: ufrag, authenticated: false)
        if let evicted = claimedBy[ufrag, default: RecentAddresses(capacity: Self.maxClaimed)].insert(remote),
           let route = byRemote[evicted], route.ufrag == ufrag, !route.authenticated {
            byRemote[evicted] = nil
        }
    }

    /// The receiver's ufrag of a Binding request (USERNAME `<receiver>:<sender>`), or nil.
    static func requestedUfrag(_ bytes: [UInt8]) -> String? {
        guard StunMessage.looksLikeStun(bytes), bytes[0] == 0x00, bytes[1] == 0x01,
              let message = try? StunMessage.decode(bytes),
              let username = try? message.username(),
              let colon = username.firstIndex(of: ":") else { return nil }
        return String(username[..<colon])
    }
}
