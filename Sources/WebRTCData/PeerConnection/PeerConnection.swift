/// A data-channel-only WebRTC peer connection: SDP offer/answer (RFC 8829), ICE over UDP
/// (`ICETransport`), DTLS and SCTP (`DataChannelTransport`), data channels.
///
/// This actor owns the connection's state: the descriptions, the ICE transport, the data-channel
/// transport once the DTLS role is known, and channels created before that. Datagrams move
/// between ICE and DTLS: DTLS output goes straight to ICE's selected socket, input comes in
/// batches through a `DatagramQueue` drained on the data-channel transport's actor.
///
/// Usage, offerer: `createOffer()` → signal → `setRemoteDescription(answer)`; answerer:
/// `setRemoteDescription(offer)` → `createAnswer()` → signal. Candidates are in the
/// descriptions (with `a=end-of-candidates`) and also reported on `localCandidates` for trickle.
public actor PeerConnection {
    public struct Configuration: Sendable {
        /// Addresses to bind one UDP socket each (port 0 = any); never 0.0.0.0, so replies leave
        /// from the advertised address.
        public var addresses: [TransportAddress]
        /// Answer as an ICE-lite agent (the embedded server's side, RFC 8445 §2.5).
        public var iceLite: Bool
        /// The DTLS role taken when answering an `actpass` offer (RFC 8842 §5.3).
        public var preferredSetup: SDPSetup
        /// USE-CANDIDATE on every check when controlling (faster, as libwebrtc does).
        public var aggressiveNomination: Bool
        /// Share these UDP ports with other peer connections instead of binding `addresses`
        /// (the embedded server's one port per address, `--rtc-port`).
        public var mux: ICEUDPMux?
        /// Which remote candidates (from the description or trickled) ICE checks, how many.
        public var remoteCandidates: RemoteCandidatePolicy
        /// What the data-channel transport holds for the peer (channels, unread bytes).
        public var limits: DataChannelLimits
        /// Bound address → the address our host candidate names instead (a 1:1 NAT, a port
        /// forward or a relay in front of us, as pion's NAT 1:1 host candidates). Only what we
        /// tell the peer changes; sockets, checks and replies stay on the bound address.
        public var advertisedAddresses: [TransportAddress: TransportAddress]

        public init(addresses: [TransportAddress], iceLite: Bool = false, preferredSetup: SDPSetup = .active,
                    aggressiveNomination: Bool = true, mux: ICEUDPMux? = nil,
                    remoteCandidates: RemoteCandidatePolicy = RemoteCandidatePolicy(),
                    limits: DataChannelLimits = DataChannelLimits(),
                    advertisedAddresses: [TransportAddress: TransportAddress] = [:]) {
            self.addresses = addresses
            self.advertisedAddresses = advertisedAddresses
            self.iceLite = iceLite
            self.preferredSetup = preferredSetup
            self.aggressiveNomination = aggressiveNomination
            self.mux = mux
            self.remoteCandidates = remoteCandidates
            self.limits = limits
        }
    }

    public nonisolated let configuration: Configuration
    public nonisolated let certificate: DTLSCertificate
    /// Our candidates as trickle JSON values, then an end-of-candidates marker (empty candidate).
    public nonisolated let localCandidates: AsyncStream<ICECandidateInit>
    /// Channels the peer opened in-band.
    public nonisolated let incomingDataChannels: AsyncStream<DataChannel>
    /// Every state change, in order.
    public nonisolated let connectionStates: AsyncStream<PeerConnectionState>
    public private(set) var connectionState: PeerConnectionState = .new

    private let candidateSink: AsyncStream<ICECandidateInit>.Continuation
    private let incomingSink: AsyncStream<DataChannel>.Continuation
    private let stateSink: AsyncStream<PeerConnectionState>.Continuation
    private var ice: ICETransport?
    private var transport: DataChannelTransport?
    private var dtlsRole: DTLSRole?
    private var localDescription: SessionDescription?
    private var remoteDescription: SessionDescription?
    private var pendingChannels: [DataChannel] = []
    private var pendingCandidates: [ICECandidateInit] = []
    private var tasks: [Task<Void, Never>] = []
    private var queues: [DatagramQueue<[UInt8]>] = []
    /// Datagrams the ICE → DTLS queues of this connection dropped, and their peak bytes
    /// (kept past `close`).
    private var dtlsInboundDroppedBefore = 0
    private var dtlsInboundPeakBefore = 0
    /// The peer's mid and m-line index of the data section, for trickled candidates.
    private var dataMid = "0"
    private var dataMLineIndex = 0

    public init(_ configuration: Configuration) throws(WebRTCDataError) {
        self.configuration = configuration
        certificate = try DTLSCertificate()
        (localCandidates, candidateSink) = AsyncStream.makeStream(of: ICECandidateInit.self)
        (incomingDataChannels, incomingSink) = AsyncStream.makeStream(of: DataChannel.self)
        (connectionStates, stateSink) = AsyncStream.makeStream(of: PeerConnectionState.self)
    }

    // MARK: - Offer / answer

    /// An offer with one data-channel section, `a=setup:actpass`, our host candidates and
    /// `a=end-of-candidates`. We become the ICE controlling agent (RFC 8445 §6.1.1).
    public func createOffer() async throws(WebRTCDataError) -> String {
        guard localDescription == nil, remoteDescription == nil, connectionState != .closed else {
            throw WebRTCDataError(.peerConnection, .wrongState, at: "createOffer",
                                  "an offer needs a fresh connection, state \(connectionState)")
        }
        let ice = try makeICE(mode: .full(role: .controlling, aggressiveNomination: configuration.aggressiveNomination))
        let offer = SessionDescription.dataChannelOffer(await parameters(for: ice))
        localDescription = offer
        return offer.sdpText
    }

    /// Applies the peer's offer or answer.
    public func setRemoteDescription(_ sdp: String) async throws(WebRTCDataError) {
        guard remoteDescription == nil, connectionState != .closed else {
            throw WebRTCDataError(.peerConnection, .wrongState, at: "setRemoteDescription",
                                  "a remote description is already set or the connection closed")
        }
        let description = try SessionDescription(parsing: sdp)
        guard let index = description.media.firstIndex(where: { $0.isDataChannel && !$0.isRejected }) else {
            throw WebRTCDataError(.sdp, .noDataChannel, at: "remote description", "no accepted webrtc-datachannel section")
        }
        dataMid = description.media[index].mid ?? "0"
        dataMLineIndex = index
        remoteDescription = description
        if localDescription != nil {
            // Their answer to our offer: its a=setup names the DTLS roles (RFC 8842 §5.3).
            let setup = description.setup(of: description.media[index]) ?? .active
            try await connect(dtlsRole: setup == .active ? .server : .client)
        }
    }

    /// The answer to the remote offer: the data section accepted, every other section rejected
    /// (DataChannelNegotiation), our DTLS role from the offer's `a=setup`.
    public func createAnswer() async throws(WebRTCDataError) -> String {
        guard let offer = remoteDescription, localDescription == nil else {
            throw WebRTCDataError(.peerConnection, .wrongState, at: "createAnswer", "needs a remote offer and no local description")
        }
        let mode: ICETransport.Mode
        if configuration.iceLite {
            mode = .lite
        } else {
            // RFC 8445 §6.1.1: against a lite peer the full agent controls.
            mode = .full(role: offer.iceLite ? .controlling : .controlled, aggressiveNomination: configuration.aggressiveNomination)
        }
        let ice = try makeICE(mode: mode)
        let answer = try offer.dataChannelAnswer(await parameters(for: ice))
        localDescription = answer
        let setup = answer.media.first(where: { $0.isDataChannel && !$0.isRejected }).flatMap { answer.setup(of: $0) } ?? .active
        try await connect(dtlsRole: setup == .active ? .client : .server)
        return answer.sdpText
    }

    /// A trickled remote candidate; an empty candidate ends them.
    public func addRemoteCandidate(_ candidate: ICECandidateInit) async throws(WebRTCDataError) {
        guard let ice, remoteDescription != nil else {
            pendingCandidates.append(candidate)
            return
        }
        try await ice.addRemoteCandidate(candidate)
    }

    // MARK: - Channels

    /// Creates a data channel (W3C `createDataChannel`). Without `negotiatedID` it is opened
    /// in-band with DCEP once SCTP is up; with one, the peer must create the same channel.
    /// `maxRetransmits` and `maxPacketLifeTime` are exclusive (W3C §6.1).
    public func createDataChannel(_ label: String, ordered: Bool = true, maxRetransmits: UInt32? = nil,
                                  maxPacketLifeTime: UInt32? = nil, protocol: String = "",
                                  negotiatedID: UInt16? = nil) async throws(WebRTCDataError) -> DataChannel {
        let reliability: DataChannelReliability
        switch (maxRetransmits, maxPacketLifeTime) {
        case (nil, nil): reliability = .reliable
        case (let count?, nil): reliability = .maxRetransmits(count)
        case (nil, let ms?): reliability = .maxPacketLifeTime(milliseconds: ms)
        case (_?, _?):
            throw WebRTCDataError(.dataChannel, .badValue, at: "createDataChannel \(label)",
                                  "maxRetransmits and maxPacketLifeTime are exclusive")
        }
        guard connectionState != .closed else {
            throw WebRTCDataError(.peerConnection, .wrongState, at: "createDataChannel", "connection closed")
        }
        if let transport {
            return try await transport.createChannel(label: label, protocol: `protocol`, ordered: ordered,
                                                     reliability: reliability, negotiatedID: negotiatedID)
        }
        let channel = DataChannel(label: label, protocol: `protocol`, ordered: ordered, reliability: reliability,
                                  negotiatedID: negotiatedID)
        pendingChannels.append(channel)
        return channel
    }

    /// The ICE pair in use, once there is one.
    public var selectedPair: ICESelectedPair? {
        get async { await ice?.selectedPair }
    }

    /// What every layer dropped or holds now, for logs and tests: each loss counted where it
    /// happened.
    public struct Statistics: Hashable, Sendable {
        /// Datagrams dropped between the socket and ICE, and between ICE and DTLS, because the
        /// consumer fell `ICETransport.inboundByteLimit` behind.
        public var iceInboundDropped = 0
        public var dtlsInboundDropped = 0
        /// Datagrams dropped on receipt for being longer than a receive slot (2 KiB; ours are
        /// at most 1200 bytes), on this connection's own sockets (a shared port's mux counts
        /// its own, `ICEUDPMux.oversizedCount`).
        public var oversizedDropped = 0
        /// Remote candidates ICE refused (`RemoteCandidatePolicy`).
        public var refusedCandidates = 0
        /// Channels the peer opened past `DataChannelLimits.channels`.
        public var refusedChannels = 0
        /// Messages received on channels that discard, or dropped for lack of room on
        /// partially reliable ones, over the channels open now.
        public var droppedMessages = 0
        /// The most bytes ever waiting in each inbound queue: socket → ICE, ICE → DTLS, and
        /// received messages for their readers.
        public var iceInboundPeakBytes = 0
        public var dtlsInboundPeakBytes = 0
        public var messagesPeakBytes = 0
        /// Received bytes waiting for readers, and bytes waiting to be sent.
        public var inboundBufferedBytes = 0
        public var outboundBufferedBytes = 0
        /// Messages waiting to be sent (never sent if the connection closes now), and DATA
        /// chunks sent and not acknowledged (they may or may not have arrived).
        public var outboundQueuedMessages = 0
        public var outboundChunksInFlight = 0
        /// Times SCTP reading paused for a slow reader of a reliable channel.
        public var receivePauses = 0
        /// SCTP messages refused on receipt (over the size limit, unknown PPID).
        public var rejectedMessages = 0
        /// Received SCTP packets held back for an earlier TSN (the path reordered them), and
        /// times a gap did not fill within the hold (`SCTPArrivalOrder`).
        public var reorderedPackets = 0
        public var reorderTimeouts = 0
    }

    public func statistics() async -> Statistics {
        var statistics = Statistics()
        if let ice {
            statistics.iceInboundDropped = ice.inboundDropped
            statistics.iceInboundPeakBytes = ice.inboundPeakBytes
            statistics.oversizedDropped = await ice.oversizedDropped
            statistics.refusedCandidates = await ice.counters.refusedCandidates
        }
        statistics.dtlsInboundDropped = dtlsInboundDroppedBefore + queues.reduce(0) { $0 + $1.counters.dropped }
        statistics.dtlsInboundPeakBytes = queues.reduce(dtlsInboundPeakBefore) { max($0, $1.counters.peakBytes) }
        if let transport {
            statistics.refusedChannels = await transport.refusedChannels
            statistics.droppedMessages = await transport.droppedMessages
            statistics.inboundBufferedBytes = await transport.inboundBufferedBytes
            statistics.messagesPeakBytes = await transport.inboundPeakBytes
            statistics.outboundBufferedBytes = await transport.outboundBufferedBytes
            statistics.outboundQueuedMessages = await transport.outboundQueuedMessages
            statistics.outboundChunksInFlight = await transport.outboundChunksInFlight
            statistics.receivePauses = await transport.receivePauses
            statistics.rejectedMessages = await transport.rejectedSCTPMessages
            statistics.reorderedPackets = await transport.reorderedSCTPPackets
            statistics.reorderTimeouts = await transport.reorderTimeouts
        }
        return statistics
    }

    /// Closes channels, SCTP (ABORT), DTLS (close_notify) and ICE.
    public func close() async {
        guard connectionState != .closed else { return }
        await transport?.close()
        await ice?.close()
        for channel in pendingChannels { channel.markClosed() }
        pendingChannels = []
        for task in tasks { task.cancel() }
        tasks = []
        for queue in queues { queue.finish() }
        dtlsInboundDroppedBefore += queues.reduce(0) { $0 + $1.counters.dropped }
        dtlsInboundPeakBefore = queues.reduce(dtlsInboundPeakBefore) { max($0, $1.counters.peakBytes) }
        queues = []
        setState(.closed)
        candidateSink.finish()
        incomingSink.finish()
        stateSink.finish()
    }

    // MARK: - Internals

    private func makeICE(mode: ICETransport.Mode) throws(WebRTCDataError) -> ICETransport {
        let ice = try ICETransport(ICETransport.Configuration(mode: mode, addresses: configuration.addresses, mux: configuration.mux,
                                                              remoteCandidates: configuration.remoteCandidates))
        self.ice = ice
        setState(.connecting)
        return ice
    }

    /// What SDP needs from ICE (credentials, host candidates), also reported for trickle.
    private func parameters(for ice: ICETransport) async -> DataChannelParameters {
        let candidates = await ice.localCandidates.map { candidate in
            guard let bound = candidate.transportAddress, let shown = configuration.advertisedAddresses[bound] else {
                return candidate
            }
            var advertised = candidate
            advertised.address = shown.ip.description
            advertised.port = shown.port
            return advertised
        }
        for candidate in candidates {
            candidateSink.yield(ICECandidateInit(candidate, sdpMid: dataMid, sdpMLineIndex: dataMLineIndex))
        }
        candidateSink.yield(ICECandidateInit(candidate: "", sdpMid: dataMid, sdpMLineIndex: dataMLineIndex))
        return DataChannelParameters(iceUfrag: ice.localUfrag, icePwd: ice.localPwd, iceLite: configuration.iceLite,
                                     fingerprint: certificate.fingerprint, preferredSetup: configuration.preferredSetup,
                                     candidates: candidates, endOfCandidates: true,
                                     maxMessageSize: SCTPAssociation.maxMessageSize)
    }

    /// Both descriptions are known: give ICE the peer's credentials and candidates, wire ICE to
    /// a new DTLS/SCTP transport, and start DTLS once ICE has a pair.
    private func connect(dtlsRole: DTLSRole) async throws(WebRTCDataError) {
        guard let ice, let remote = remoteDescription,
              let media = remote.media.first(where: { $0.isDataChannel && !$0.isRejected }) else { return }
        guard let credentials = remote.iceCredentials(of: media) else {
            throw WebRTCDataError(.sdp, .missingLine, at: "remote description", "no a=ice-ufrag/a=ice-pwd")
        }
        guard let fingerprint = remote.fingerprints(of: media).first(where: { $0.algorithm == "sha-256" }) else {
            throw WebRTCDataError(.sdp, .missingLine, at: "remote description", "no a=fingerprint:sha-256")
        }
        // RFC 8841 §6: no a=max-message-size means 64 KiB; 0 means no limit.
        let remoteMax = media.maxMessageSize.map { $0 == 0 ? 1 << 30 : $0 } ?? 65536
        // ICE → DTLS: as much as the socket buffer holds again; past it datagrams drop (counted).
        let inbound = DatagramQueue<[UInt8]>(byteLimit: ICETransport.inboundByteLimit)
        let transport = try DataChannelTransport(role: dtlsRole, certificate: certificate, remoteFingerprint: fingerprint,
                                                 remoteMaxMessageSize: min(remoteMax, SCTPAssociation.maxMessageSize),
                                                 limits: configuration.limits,
                                                 sendBatch: { datagrams in ice.sendImmediately(batch: datagrams) }) { datagram in
            // DTLS output goes straight to the selected pair's socket, no actor hop; SCTP's
            // packets of one flush in one `sendmmsg`.
            ice.sendImmediately(datagram)
        }
        self.transport = transport
        self.dtlsRole = dtlsRole
        for channel in pendingChannels { try await transport.adopt(channel) }
        pendingChannels = []

        await ice.setDatagramHandler { datagram in inbound.push(datagram) }
        try await ice.start()
        await ice.setRemoteCredentials(ufrag: credentials.ufrag, pwd: credentials.pwd)
        for candidate in media.candidates { await ice.addRemoteCandidate(candidate) }
        if media.endOfCandidates {
            try await ice.addRemoteCandidate(ICECandidateInit(candidate: "", sdpMid: dataMid, sdpMLineIndex: dataMLineIndex))
        }
        for candidate in pendingCandidates { try await ice.addRemoteCandidate(candidate) }
        pendingCandidates = []

        queues = [inbound]
        tasks.append(Task { await transport.receiveAll(from: inbound) })
        let incoming = incomingSink
        tasks.append(Task { for await channel in transport.incomingChannels { incoming.yield(channel) } })
        tasks.append(Task { [weak self] in
            for await state in ice.states {
                await self?.iceStateChanged(state)
            }
        })
        tasks.append(Task { [weak self] in
            for await state in transport.stateChanges {
                await self?.transportStateChanged(state)
            }
        })
    }

    private func iceStateChanged(_ state: ICEConnectionState) async {
        switch state {
        case .connected:
            // DTLS starts once ICE has a pair, so the ClientHello is not lost (RFC 8842 §5.1
            // leaves the timing to us; the server side just waits).
            await transport?.start()
            if connectionState == .disconnected { setState(.connected) }
        case .disconnected:
            if connectionState == .connected { setState(.disconnected) }
        case .failed:
            setState(.failed)
            await transport?.close()
        case .new, .checking, .closed:
            break
        }
    }

    private func transportStateChanged(_ state: DataChannelTransport.State) async {
        switch state {
        case .connected: setState(.connected)
        case .failed: setState(.failed)
        case .closed:
            // The peer ended SCTP (ABORT, SHUTDOWN) or DTLS (close_notify): nothing can flow any
            // more, so ICE stops too (its consent checks would otherwise go on).
            if connectionState != .failed { await close() }
        case .new, .connecting: break
        }
    }

    private func setState(_ new: PeerConnectionState) {
        guard new != connectionState, connectionState != .closed else { return }
        connectionState = new
        stateSink.yield(new)
    }
}

extension WebRTCDataError.Reason {
    static let wrongState = Self("wrong state")
}
