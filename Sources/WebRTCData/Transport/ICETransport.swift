/// ICE over real UDP sockets: the one owner (an actor) of an ICE agent, its sockets, its receive
/// loop and its timer. The layer above (DTLS) sends with `send(_:)` and reads non-STUN
/// datagrams from `datagrams` (RFC 7983 demultiplexing happens in the agent).
///
/// Full mode gathers host candidates on the given addresses (one socket each, never 0.0.0.0)
/// and checks; lite mode only answers (the embedded server's side, RFC 8445 §2.5).
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

        public init(mode: Mode, addresses: [TransportAddress], localUfrag: String = ICETransport.randomICEString(8),
                    localPwd: String = ICETransport.randomICEString(24), tieBreaker: UInt64 = .random(in: 0...UInt64.max)) {
            self.mode = mode
            self.addresses = addresses
            self.localUfrag = localUfrag
            self.localPwd = localPwd
            self.tieBreaker = tieBreaker
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

    private typealias Inbound = (datagram: [UInt8], from: TransportAddress, to: TransportAddress)

    public nonisolated let localUfrag: String
    public nonisolated let localPwd: String
    /// Non-STUN datagrams from validated peers, in arrival order (for DTLS).
    public nonisolated let datagrams: AsyncStream<[UInt8]>
    /// Every connection state change.
    public nonisolated let states: AsyncStream<ICEConnectionState>

    private var agent: Agent
    private let sockets: [UDPSocket]
    private var receiveLoop: UDPReceiveLoop?
    private let inbound: AsyncStream<Inbound>
    private let inboundContinuation: AsyncStream<Inbound>.Continuation
    private let datagramContinuation: AsyncStream<[UInt8]>.Continuation
    private let stateContinuation: AsyncStream<ICEConnectionState>.Continuation
    private var datagramHandler: (@Sendable ([UInt8]) -> Void)?
    private var inboundTask: Task<Void, Never>?
    private var timerTask: Task<Void, Never>?
    private var timerDeadline: ContinuousClock.Instant?
    public private(set) var selectedPair: ICESelectedPair?
    /// Datagrams the kernel refused to send.
    public private(set) var sendFailures = 0

    public init(_ configuration: Configuration) throws(WebRTCDataError) {
        guard !configuration.addresses.isEmpty else {
            throw WebRTCDataError(.transport, .socket, at: "configuration", "no address to bind")
        }
        var sockets: [UDPSocket] = []
        for address in configuration.addresses { sockets.append(try UDPSocket(binding: address)) }
        self.sockets = sockets
        self.localUfrag = configuration.localUfrag
        self.localPwd = configuration.localPwd
        let bound = sockets.map(\.localAddress)
        switch configuration.mode {
        case .full(let role, let aggressive):
            var agentConfiguration = ICEAgent.Configuration(role: role, localUfrag: configuration.localUfrag,
                                                            localPwd: configuration.localPwd)
            agentConfiguration.tieBreaker = configuration.tieBreaker
            agentConfiguration.nomination = aggressive ? .aggressive : .regular
            agent = .full(ICEAgent(agentConfiguration, localAddresses: bound))
        case .lite:
            agent = .lite(ICELiteAgent(ICELiteAgent.Configuration(localUfrag: configuration.localUfrag,
                                                                  localPwd: configuration.localPwd)))
        }
        (inbound, inboundContinuation) = AsyncStream.makeStream(of: Inbound.self)
        (datagrams, datagramContinuation) = AsyncStream.makeStream(of: [UInt8].self)
        (states, stateContinuation) = AsyncStream.makeStream(of: ICEConnectionState.self)
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

    public var counters: ICECounters {
        switch agent {
        case .full(let full): full.counters
        case .lite(let lite): lite.counters
        }
    }

    /// Starts receiving. Call once, before signaling the candidates.
    public func start() throws(WebRTCDataError) {
        guard receiveLoop == nil else { return }
        let continuation = inboundContinuation
        let loop = try UDPReceiveLoop(sockets: sockets) { datagram, from, to in
            continuation.yield((datagram, from, to))
        }
        receiveLoop = loop
        loop.start()
        let stream = inbound
        inboundTask = Task { [weak self] in
            for await item in stream {
                guard let self else { return }
                await self.handleInbound(item)
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
        receiveLoop = nil
        inboundContinuation.finish()
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

    private func handleInbound(_ item: Inbound) {
        let now = ContinuousClock.now
        let actions: [ICEAction]
        switch agent {
        case .full(var full):
            actions = full.handleDatagram(item.datagram, from: item.from, to: item.to, now: now)
            agent = .full(full)
        case .lite(var lite):
            actions = lite.handleDatagram(item.datagram, from: item.from, to: item.to, now: now)
            agent = .lite(lite)
        }
        perform(actions)
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

    private func perform(_ actions: [ICEAction]) {
        for action in actions {
            switch action {
            case .send(let bytes, let from, let to):
                transmit(bytes, from: from, to: to)
            case .deliver(let datagram, _):
                if let datagramHandler { datagramHandler(datagram) } else { datagramContinuation.yield(datagram) }
            case .stateChanged(let state):
                stateContinuation.yield(state)
            case .selectedPairChanged(let pair):
                selectedPair = pair
            }
        }
        armTimer()
    }

    @discardableResult
    private func transmit(_ bytes: [UInt8], from: TransportAddress, to: TransportAddress) -> Bool {
        guard let socket = sockets.first(where: { $0.localAddress == from }) else { return false }
        let sent = socket.send(bytes, to: to)
        if !sent { sendFailures += 1 }
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
