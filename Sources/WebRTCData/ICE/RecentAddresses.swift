/// A set of remote addresses that keeps only the `capacity` most recently added: what an agent
/// (or a shared port, per transport) remembers as validated. A peer that authenticates from
/// ever new source addresses (its own credentials, spoofed sources) cannot grow it; a client
/// whose address changes (NAT rebinding, RFC 8445 §7.3.1.3) keeps its newest ones.
/// `contains` is a hash lookup: it runs for every DTLS datagram.
struct RecentAddresses: Sendable {
    let capacity: Int
    private var members: Set<TransportAddress> = []
    private var order: [TransportAddress] = []

    init(capacity: Int = 16) {
        self.capacity = capacity
    }

    var count: Int { members.count }

    func contains(_ address: TransportAddress) -> Bool { members.contains(address) }

    /// Adds `address` (or makes it the newest); returns the address evicted to make room.
    @discardableResult
    mutating func insert(_ address: TransportAddress) -> TransportAddress? {
        if members.contains(address) {
            if order.last != address, let index = order.firstIndex(of: address) {
                order.remove(at: index)
                order.append(address)
            }
            return nil
        }
        members.insert(address)
        order.append(address)
        guard order.count > capacity else { return nil }
        let evicted = order.removeFirst()
        members.remove(evicted)
        return evicted
    }

    mutating func remove(_ address: TransportAddress) {
        guard members.remove(address) != nil, let index = order.firstIndex(of: address) else { return }
        order.remove(at: index)
    }
}
