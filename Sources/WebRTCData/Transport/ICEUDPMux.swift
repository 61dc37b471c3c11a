import Foundation

/// One UDP socket per advertised address, shared by many ICE transports: the embedded server's
/// `--rtc-port`, one UDP port per advertised address as livekit-server's (pion calls this a UDP mux).
///
/// Routing, per datagram, is `ICEMuxRoutes`: a Binding request reaches the transport its
/// USERNAME names (RFC 8445 §7.3), but only an agent that authenticated it binds the source
/// address (RFC 8489 §9.2), and an authenticated address stays with its transport; everything
/// else goes to the transport bound to its source. Datagrams nobody claims are counted and
/// dropped; one bad peer never reaches the others.
///
/// The routing table is read on the receive thread and written by transports from their actors,
/// so it sits behind one lock here, at the edge, and nowhere else.
public final class ICEUDPMux: @unchecked Sendable {
    // @unchecked: `routes`, `sinks` and `unrouted` are only touched under `lock`; the rest is
    // immutable.
    typealias Sink = @Sendable ([ReceivedDatagram]) -> Void

    let sockets: [UDPSocket]
    private var loop: UDPReceiveLoop?
    private let lock = NSLock()
    private var sinks: [String: Sink] = [:]
    private var routes = ICEMuxRoutes()
    private var unrouted = 0

    /// Binds one socket per address (a fixed port such as 7882, or 0) and starts receiving.
    public init(addresses: [TransportAddress]) throws(WebRTCDataError) {
        guard !addresses.isEmpty else {
            throw WebRTCDataError(.transport, .socket, at: "configuration", "no address to bind")
        }
        var sockets: [UDPSocket] = []
        for address in addresses { sockets.append(try UDPSocket(binding: address)) }
        self.sockets = sockets
        let loop = try UDPReceiveLoop(sockets: sockets) { [weak self] batch in self?.route(batch) }
        self.loop = loop
        loop.start()
    }

    deinit { loop?.stop() }

    public var boundAddresses: [TransportAddress] { sockets.map(\.localAddress) }

    /// Datagrams that matched no registered transport.
    public var unroutedCount: Int { lock.withLock { unrouted } }

    /// Datagrams dropped on receipt because they were longer than the receive loop's slots
    /// (`UDPReceiveSlab.defaultSlotSize`), before anyone could route them.
    public var oversizedCount: Int { loop?.truncatedDatagrams ?? 0 }

    /// Stops receiving; registered transports see no more datagrams.
    public func close() {
        loop?.stop()
        lock.withLock {
            for ufrag in sinks.keys { routes.unregister(ufrag: ufrag) }
            sinks.removeAll()
        }
    }

    /// False when another transport already uses `ufrag` (routing would be ambiguous).
    func register(ufrag: String, sink: @escaping Sink) -> Bool {
        lock.withLock {
            guard routes.register(ufrag: ufrag) else { return false }
            sinks[ufrag] = sink
            return true
        }
    }

    /// `ufrag`'s agent authenticated a check from `remote` (see `ICEMuxRoutes.bindAuthenticated`).
    func bind(remote: TransportAddress, ufrag: String) {
        lock.withLock { routes.bindAuthenticated(remote: remote, ufrag: ufrag) }
    }

    /// `ufrag` sends a check to `remote` (see `ICEMuxRoutes.claim`).
    func claim(remote: TransportAddress, ufrag: String) {
        lock.withLock { routes.claim(remote: remote, ufrag: ufrag) }
    }

    func unregister(ufrag: String) {
        lock.withLock {
            sinks[ufrag] = nil
            routes.unregister(ufrag: ufrag)
        }
    }

    func socket(for local: TransportAddress) -> UDPSocket? {
        sockets.first { $0.localAddress == local }
    }

    private func route(_ batch: [ReceivedDatagram]) {
        var perSink: [String: (Sink, [ReceivedDatagram])] = [:]
        lock.withLock {
            for datagram in batch {
                guard let ufrag = routes.target(of: datagram.bytes, from: datagram.from), let sink = sinks[ufrag] else {
                    unrouted += 1
                    continue
                }
                perSink[ufrag, default: (sink, [])].1.append(datagram)
            }
        }
        // Call out of the lock: sinks only queue for their transport.
        for (sink, datagrams) in perSink.values { sink(datagrams) }
    }
}
