import Foundation

/// One UDP socket per advertised address, shared by many ICE transports: the embedded server's
/// `--rtc-port`, one UDP port per advertised address as livekit-server's (pion calls this a UDP mux).
///
/// Routing, per datagram (RFC 8445 §7.3: a check names its target by USERNAME):
/// - a STUN Binding request goes to the transport whose local ufrag is the part of USERNAME
///   before the colon, and its source address is then bound to that transport;
/// - anything else (DTLS, STUN responses, consent) goes to the transport bound to its source;
///   a transport that sends a check to an address not yet bound claims it (a full agent's
///   responses may arrive before the peer's own first check).
/// Datagrams nobody claims are counted and dropped; one bad peer never reaches the others.
///
/// The routing table is read on the receive thread and written by transports from their actors,
/// so it sits behind one lock here, at the edge, and nowhere else.
public final class ICEUDPMux: @unchecked Sendable {
    // @unchecked: `routes` and `unrouted` are only touched under `lock`; the rest is immutable.
    typealias Sink = @Sendable ([ReceivedDatagram]) -> Void

    let sockets: [UDPSocket]
    private var loop: UDPReceiveLoop?
    private let lock = NSLock()
    private var byUfrag: [String: Sink] = [:]
    private var byRemote: [TransportAddress: String] = [:]
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

    /// Stops receiving; registered transports see no more datagrams.
    public func close() {
        loop?.stop()
        lock.withLock {
            byUfrag.removeAll()
            byRemote.removeAll()
        }
    }

    /// False when another transport already uses `ufrag` (routing would be ambiguous).
    func register(ufrag: String, sink: @escaping Sink) -> Bool {
        lock.withLock {
            guard byUfrag[ufrag] == nil else { return false }
            byUfrag[ufrag] = sink
            return true
        }
    }

    /// Binds `remote` to `ufrag` unless it is bound already (a request to a ufrag rebinds).
    func claim(remote: TransportAddress, ufrag: String) {
        lock.withLock {
            if byRemote[remote] == nil, byUfrag[ufrag] != nil { byRemote[remote] = ufrag }
        }
    }

    func unregister(ufrag: String) {
        lock.withLock {
            byUfrag[ufrag] = nil
            byRemote = byRemote.filter { $0.value != ufrag }
        }
    }

    func socket(for local: TransportAddress) -> UDPSocket? {
        sockets.first { $0.localAddress == local }
    }

    private func route(_ batch: [ReceivedDatagram]) {
        var perSink: [String: (Sink, [ReceivedDatagram])] = [:]
        lock.withLock {
            for datagram in batch {
                var ufrag: String?
                if let target = Self.requestedUfrag(datagram.bytes), byUfrag[target] != nil {
                    ufrag = target
                    byRemote[datagram.from] = target
                } else {
                    ufrag = byRemote[datagram.from]
                }
                guard let ufrag, let sink = byUfrag[ufrag] else {
                    unrouted += 1
                    continue
                }
                perSink[ufrag, default: (sink, [])].1.append(datagram)
            }
        }
        // Call out of the lock: sinks only yield to their transport's stream.
        for (sink, datagrams) in perSink.values { sink(datagrams) }
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
