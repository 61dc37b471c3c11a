import Foundation
import Synchronization

/// ICE over real UDP sockets: the one owner (an actor) of an ICE agent, its sockets, its receive
/// loop and its timer. The layer above (DTLS) sends with `send(_:)` and reads non-STUN
/// datagrams from `datagrams` (RFC 7983 demultiplexing happens in the agent).
///
/// Full mode gathers host candidates on the given addresses (one socket each, never 0.0.0.0)
/// and checks; lite mode only answers (the embedded server's side, RFC 8445 §2.5). With a
/// `mux`, the transport owns no socket: it shares the mux's ports with other transports.
public actor ICETransport {
    public enum Mode: Sendable {
        case full(role: ICERole, aggressiveNomination: Bool = false)
        case lite
    }

    public struct Configuration: Sendable {
        public var mode: Mode
        /// Addresses to bind and advertise, each with a port (0 = any free port).
        public var addresses: [TransportAddress]
        /// RFC 8445 §5.3: ufrag ≥ 4 and password ≥ 22 characters of ice-char.
        public var localUfrag: String
        public var localPwd: String
        public var tieBreaker: UInt64
        /// Share these ports instead of binding `addresses` (the server's one port per address).
        public var mux: ICEUDPMux?
        /// Which remote candidates a full agent checks, and how many it keeps.
        public var remoteCandidates: RemoteCandidatePolicy

        public init(mode: Mode, addresses: [TransportAddress], localUfrag: String = ICETransport.randomICEString(8),
                    localPwd: String = ICETransport.randomICEString(24), tieBreaker: UInt64 = .random(in: 0...UInt64.max),
                    mux: ICEUDPMux? = nil, remoteCandidates: RemoteCandidatePolicy = RemoteCandidatePolicy()) {
            self.mode = mode
            self.remoteCandidates = remoteCandidates
            self.addresses = addresses
            self.localUfrag = localUfrag
            self.localPwd = localPwd
            self.tieBreaker = tieBreaker
            self.mux = mux
        }

        /// Every up, non-link-local interface address (loopback only if asked), port 0.
        public static func interfaceAddresses(includeLoopback: Bool = false, includeIPv6: Bool = false) -> [TransportAddress] {
            NetworkInterfaces.addresses(includeLoopback: includeLoopback, includeIPv6: includeIPv6)
                .map { TransportAddress(ip: $0.ip, port: 0) }
        }
    }

    private enum Agent: Sendable {
        case full(ICEAgent)
        case lite(ICELiteAgent)
    }

    /// Bytes of received datagrams that may wait for this actor (the kernel's socket buffer is
    /// as large, docs/WIRE.md "Transport"): past it, new datagrams are dropped and counted, as the
    /// kernel would once its own buffer is full.
    public static let inboundByteLimit = 4 << 20

    public nonisolated let localUfrag: String
    public nonisolated let localPwd: String
    /// Non-STUN datagrams from validated peers, in arrival order (for DTLS).
    public nonisolated let datagrams: AsyncStream<[UInt8]>
    /// Every connection state change.
    public nonisolated let states: AsyncStream<ICEConnectionState>

    private var agent: Agent
    private let sockets: [UDPSocket]
    private let mux: ICEUDPMux?
    /// True once this transport owns its ufrag's route on `mux` (only then may it remove it).
    private var routedOnMux = false
    private var receiveLoop: UDPReceiveLoop?
    private nonisolated let inbound = DatagramQueue<ReceivedDatagram>(byteLimit: ICETransport.inboundByteLimit) { $0.bytes.count }
    private let datagramContinuation: AsyncStream<[UInt8]>.Continuation
    private let stateContinuation: AsyncStream<ICEConnectionState>.Continuation
    private var datagramHandler: (@Sendable ([UInt8]) -> Void)?
    private var inboundTask: Task<Void, Never>?
    private var timerTask: Task<Void, Never>?
    private var timerDeadline: ContinuousClock.Instant?
    public private(set) var selectedPair: ICESelectedPair?
    /// Where data goes now, readable without entering the actor (see `sendImmediately`).
    private nonisolated let route = DataRoute()
    /// Datagrams the kernel refused to send, on this actor and by `sendImmediately`.
    public var sendFailures: Int { transmitFailures + route.refused }
    private var transmitFailures = 0
    /// Datagrams received, and non-STUN datagrams handed upward.
    public private(set) var received = 0
    public private(set) var delivered = 0
    /// Datagrams dropped because this transport fell `inboundByteLimit` behind its socket.
    public nonisolated var inboundDropped: Int { inbound.counters.dropped }
    /// The most bytes of datagrams ever waiting for this actor at once.
    public nonisolated var inboundPeakBytes: Int { inbound.counters.peakBytes }
    /// Datagrams dropped on receipt because they were longer than the receive loop's slots
    /// (`UDPReceiveSlab.defaultSlotSize`); on a shared port the mux counts them instead.
    public var oversizedDropped: Int { oversizedDroppedBefore + (receiveLoop?.truncatedDatagrams ?? 0) }
    private var oversizedDroppedBefore = 0

    public init(_ configuration: Configuration) throws(WebRTCDataError) {
        var sockets: [UDPSocket] = []
        if let mux = configuration.mux {
            sockets = mux.sockets
        } else {
            guard !configuration.addresses.isEmpty else {
                throw WebRTCDataError(.transport, .socket, at: "configuration", "no address to bind")
            }
            for address in configuration.addresses { sockets.append(try UDPSocket(binding: address)) }
        }
        self.sockets = sockets
        self.mux = configuration.mux
        self.localUfrag = configuration.localUfrag
        self.localPwd = configuration.localPwd
        let bound = sockets.map(\.localAddress)
        switch configuration.mode {
        case .full(let role, let aggressive):
            var agentConfiguration = ICEAgent.Configuration(role: role, localUfrag: configuration.localUfrag,
                                                            localPwd: configuration.localPwd)
            agentConfiguration.tieBreaker = configuration.tieBreaker
            agentConfiguration.nomination = aggressive ? .aggressive : .regular
            agentConfiguration.candidates = configuration.remoteCandidates
            agent = .full(ICEAgent(agentConfiguration, localAddresses: bound))
        case .lite:
            agent = .lite(ICELiteAgent(ICELiteAgent.Configuration(localUfrag: configuration.localUfrag,
                                                                  localPwd: configuration.localPwd)))
        }
        (datagrams, datagramContinuation) = AsyncStream.makeStream(of: [UInt8].self)
        (states, stateContinuation) = AsyncStream.makeStream(of: ICEConnectionState.self)
    }

    deinit {
        // An owner that forgot `close()` must not leak the receive thread or the mux route.
        receiveLoop?.stop()
        if routedOnMux { mux?.unregister(ufrag: localUfrag) }
        inbound.finish()
        timerTask?.cancel()
    }

    /// Our host candidates: one per bound socket (lite agents advertise them in SDP too).
    public var localCandidates: [ICECandidate] {
        switch agent {
        case .full(let full): return full.localCandidates
        case .lite:
            return sockets.enumerated().map { index, socket in
                ICECandidate(host: socket.localAddress, localPreference: UInt16(65535 - index))
            }
        }
    }

    public var boundAddresses: [TransportAddress] { sockets.map(\.localAddress) }

    public var state: ICEConnectionState {
        switch agent {
        case .full(let full): full.state
        case .lite(let lite): lite.state
        }
    }

    /// Our ICE role now (it can change once, on a role conflict, RFC 8445 §7.3.1.1).
    public var role: ICERole {
        switch agent {
        case .full(let full): full.role
        case .lite: .controlled
        }
    }

    public var counters: ICECounters {
        switch agent {
        case .full(let full): full.counters
        case .lite(let lite): lite.counters
        }
    }

    /// Starts receiving. Call once, before signaling the candidates.
    public func start() throws(WebRTCDataError) {
        guard receiveLoop == nil, inboundTask == nil else { return }
        let queue = inbound
        if let mux {
            guard mux.register(ufrag: localUfrag, sink: { batch in queue.push(contentsOf: batch) }) else {
                throw WebRTCDataError(.transport, .socket, at: "ufrag \(localUfrag)", "already in use on this shared port")
            }
            routedOnMux = true
        } else {
            let loop = try UDPReceiveLoop(sockets: sockets) { batch in
                queue.push(contentsOf: batch)
            }
            receiveLoop = loop
            loop.start()
        }
        inboundTask = Task { [weak self] in
            while let batch = await queue.nextBatch() {
                guard let self else { return }
                await self.handleInbound(batch)
            }
        }
    }

    /// Instead of `datagrams`, have non-STUN datagrams handed to `handler` on this actor's
    /// executor as they arrive (one hop less for the DTLS layer).
    public func setDatagramHandler(_ handler: (@Sendable ([UInt8]) -> Void)?) {
        datagramHandler = handler
    }

    public func setRemoteCredentials(ufrag: String, pwd: String) {
        switch agent {
        case .full(var full):
            full.setRemoteCredentials(ufrag: ufrag, pwd: pwd)
            let actions = full.startIfReady(now: .now)
            agent = .full(full)
            perform(actions)
        case .lite(var lite):
            lite.remoteUfrag = ufrag
            agent = .lite(lite)
        }
    }

    public func addRemoteCandidate(_ candidate: ICECandidate) {
        guard case .full(var full) = agent else { return }
        let actions = full.addRemoteCandidate(candidate, now: .now)
        agent = .full(full)
        perform(actions)
    }

    /// A trickled candidate (`{"candidate","sdpMid","sdpMLineIndex"}`); empty = end of candidates.
    public func addRemoteCandidate(_ candidateInit: ICECandidateInit) throws(WebRTCDataError) {
        if let candidate = try candidateInit.parsedCandidate() {
            addRemoteCandidate(candidate)
        } else if case .full(var full) = agent {
            let actions = full.setRemoteEndOfCandidates(now: .now)
            agent = .full(full)
            perform(actions)
        }
    }

    /// Sends one datagram on the selected pair; false when there is none or the kernel refused.
    @discardableResult
    public func send(_ datagram: [UInt8]) -> Bool {
        let action: ICEAction?
        switch agent {
        case .full(let full): action = full.send(datagram)
        case .lite(let lite): action = lite.send(datagram)
        }
        guard case .send(let bytes, let from, let to)? = action else { return false }
        return transmit(bytes, from: from, to: to)
    }

    /// Sends one datagram on the selected pair from any thread or actor, without a hop into
    /// this actor: the hot path for DTLS records. Same rules as `send(_:)`; false when there is
    /// no usable pair or the kernel refused.
    @discardableResult
    public nonisolated func sendImmediately(_ datagram: [UInt8]) -> Bool {
        guard let (socket, remote) = route.current else { return false }
        let sent = socket.send(datagram, to: remote)
        if !sent { route.countRefused(1) }
        return sent
    }

    /// Sends datagrams that leave together (SCTP's packets of one flush, through DTLS) on the
    /// selected pair, in order, with as few system calls as the kernel allows
    /// (`UDPSocket.send(batch:to:)`). Same rules as `sendImmediately(_:)`; returns how many the
    /// kernel took (the others are counted in `sendFailures`).
    @discardableResult
    public nonisolated func sendImmediately(batch datagrams: [[UInt8]]) -> Int {
        guard let (socket, remote) = route.current else { return 0 }
        let (sent, refused) = socket.send(batch: datagrams, to: remote)
        if refused > 0 { route.countRefused(refused) }
        return sent
    }

    public func close() {
        switch agent {
        case .full(var full):
            let actions = full.close()
            agent = .full(full)
            perform(actions)
        case .lite(var lite):
            let actions = lite.close()
            agent = .lite(lite)
            perform(actions)
        }
        receiveLoop?.stop()
        oversizedDroppedBefore += receiveLoop?.truncatedDatagrams ?? 0
        receiveLoop = nil
        if routedOnMux { mux?.unregister(ufrag: localUfrag) }
        routedOnMux = false
        inbound.finish()
        inboundTask?.cancel()
        timerTask?.cancel()
        timerTask = nil
        datagramContinuation.finish()
        stateContinuation.finish()
    }

    /// Waits until the state is one of `wanted` (or the transport closes); returns the state.
    public func waitForState(_ wanted: Set<ICEConnectionState>, timeout: Duration) async -> ICEConnectionState {
        let deadline = ContinuousClock.now + timeout
        while !wanted.contains(state), state != .closed, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return state
    }

    // MARK: - Internals

    private func handleInbound(_ batch: [ReceivedDatagram]) {
        received += batch.count
        let now = ContinuousClock.now
        var needsTimer = false
        for item in batch {
            let actions: [ICEAction]
            switch agent {
            case .full(var full):
                actions = full.handleDatagram(item.bytes, from: item.from, to: item.to, now: now)
                agent = .full(full)
            case .lite(var lite):
                actions = lite.handleDatagram(item.bytes, from: item.from, to: item.to, now: now)
                agent = .lite(lite)
            }
            // The hot path: one DTLS datagram handed upward changes no deadline.
            if actions.count == 1, case .deliver(let datagram, _) = actions[0] {
                deliver(datagram)
            } else if !actions.isEmpty {
                perform(actions, armingTimer: false)
                needsTimer = true
            }
        }
        if needsTimer { armTimer() }
    }

    private func handleTimer() {
        timerDeadline = nil
        let now = ContinuousClock.now
        let actions: [ICEAction]
        switch agent {
        case .full(var full):
            actions = full.handleTimeout(now: now)
            agent = .full(full)
        case .lite(var lite):
            actions = lite.handleTimeout(now: now)
            agent = .lite(lite)
        }
        perform(actions)
    }

    private func perform(_ actions: [ICEAction], armingTimer: Bool = true) {
        for action in actions {
            switch action {
            case .send(let bytes, let from, let to):
                transmit(bytes, from: from, to: to)
            case .deliver(let datagram, _):
                deliver(datagram)
            case .stateChanged(let state):
                stateContinuation.yield(state)
                updateRoute()
            case .selectedPairChanged(let pair):
                selectedPair = pair
                updateRoute()
            case .remoteAuthenticated(let remote):
                // RFC 8445 §7.3: only now may a shared port route this address to us.
                if routedOnMux { mux?.bind(remote: remote, ufrag: localUfrag) }
            }
        }
        if armingTimer { armTimer() }
    }

    /// Data may flow while connected or disconnected (consent not yet expired, RFC 7675 §5.1),
    /// never after failed or closed.
    private func updateRoute() {
        if let pair = selectedPair, state == .connected || state == .disconnected,
           let socket = sockets.first(where: { $0.localAddress == pair.local }) {
            route.set(socket: socket, remote: pair.remote)
        } else {
            route.set(socket: nil, remote: nil)
        }
    }

    private func deliver(_ datagram: [UInt8]) {
        delivered += 1
        if let datagramHandler { datagramHandler(datagram) } else { datagramContinuation.yield(datagram) }
    }

    @discardableResult
    private func transmit(_ bytes: [UInt8], from: TransportAddress, to: TransportAddress) -> Bool {
        guard let socket = sockets.first(where: { $0.localAddress == from }) else { return false }
        // On a shared port our own checks (Binding requests, not our answers to anyone's) must
        // bring their responses back here, even before the peer's first check to us has bound
        // its address.
        if routedOnMux, bytes.count >= 2, bytes[0] == 0x00, bytes[1] == 0x01 { mux?.claim(remote: to, ufrag: localUfrag) }
        let sent = socket.send(bytes, to: to)
        if !sent { transmitFailures += 1 }
        return sent
    }

    /// Keeps one timer task armed for the agent's earliest deadline.
    private func armTimer() {
        let deadline: ContinuousClock.Instant?
        switch agent {
        case .full(let full): deadline = full.nextDeadline
        case .lite(let lite): deadline = lite.nextDeadline
        }
        guard let deadline else { return }
        if let timerDeadline, timerDeadline <= deadline, timerTask != nil { return }
        timerTask?.cancel()
        timerDeadline = deadline
        timerTask = Task { [weak self] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            guard !Task.isCancelled, let self else { return }
            await self.handleTimer()
        }
    }

    /// RFC 8445 §5.3 ice-chars (ALPHA / DIGIT / "+" / "/"), from the system's CSPRNG.
    public static func randomICEString(_ length: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }
}

/// The selected pair's socket and remote address, written by the transport actor when ICE
/// selects a pair or changes state, read by `sendImmediately` from any thread. One lock, here
/// at the socket edge only.
private final class DataRoute: @unchecked Sendable {
    // @unchecked: both fields are only touched under `lock`; the counter is atomic.
    private let lock = NSLock()
    private var socket: UDPSocket?
    private var remote: TransportAddress?
    private let refusedCount = Atomic<Int>(0)

    /// Datagrams the kernel refused to `sendImmediately`.
    var refused: Int { refusedCount.load(ordering: .relaxed) }

    func countRefused(_ count: Int) {
        refusedCount.add(count, ordering: .relaxed)
    }

    func set(socket: UDPSocket?, remote: TransportAddress?) {
        lock.withLock {
            self.socket = socket
            self.remote = remote
        }
    }

    var current: (UDPSocket, TransportAddress)? {
        lock.withLock {
            guard let socket, let remote else { return nil }
            return (socket, remote)
        }
    }
}
