/// A candidate pair on the check list (RFC 8445 §6.1.2).
struct ICECandidatePair: Hashable, Sendable {
    /// RFC 8445 §6.1.2.6 pair states.
    enum State: Hashable, Sendable {
        case frozen, waiting, inProgress, succeeded, failed
    }

    /// The base of the local candidate: the address of our socket (host candidates only here).
    var local: TransportAddress
    var remote: TransportAddress
    var localPriority: UInt32
    var remotePriority: UInt32
    var state: State = .waiting
    /// The controlling side asked (or we asked) to use this pair (RFC 8445 §8.1.1).
    var nominated = false
    /// Controlled side: USE-CANDIDATE arrived before our own check succeeded (§7.3.1.5).
    var nominateOnSuccess = false

    /// RFC 8445 §6.1.2.3: 2^32·MIN(G,D) + 2·MAX(G,D) + (G > D ? 1 : 0), G the controlling
    /// agent's candidate priority and D the controlled agent's.
    func priority(role: ICERole) -> UInt64 {
        let g = UInt64(role == .controlling ? localPriority : remotePriority)
        let d = UInt64(role == .controlling ? remotePriority : localPriority)
        return (min(g, d) << 32) + 2 * max(g, d) + (g > d ? 1 : 0)
    }

    var selected: ICESelectedPair { ICESelectedPair(local: local, remote: remote) }
}
