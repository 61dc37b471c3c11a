/// A full ICE agent (RFC 8445) for one data stream with one component: host candidates on the
/// addresses its owner bound sockets to, a check list of pairs, paced connectivity checks with
/// retransmission, nomination when controlling (regular or aggressive), role conflict
/// resolution, and consent freshness once connected (RFC 7675).
///
/// A value type driven by its owner: every `handle…` method takes the current time and returns
/// actions; `nextDeadline` says when to call `handleTimeout` next. Nothing here touches a socket.
///
/// Simplification, on purpose: one stream and one component, so all pairs start Waiting
/// (RFC 8445 §6.1.2.6 freezing only orders checks across streams/foundations).
struct ICEAgent: Sendable {
    enum Nomination: Sendable {
        /// RFC 8445 §8.1.1: check first, then repeat the check on the chosen pair with USE-CANDIDATE.
        case regular
        /// RFC 5245 §8.1.1.2 (kept by libwebrtc, aioice): USE-CANDIDATE on every check;
        /// the first pair that succeeds is used.
        case aggressive
    }

    struct Configuration: Sendable {
        var role: ICERole
        var localUfrag: String
        var localPwd: String
        /// RFC 8445 §7.3.1.1: a random 64-bit number that settles role conflicts.
        var tieBreaker: UInt64 = .random(in: 0...UInt64.max)
        var nomination: Nomination = .regular
        /// Ta, the pacing of new checks (RFC 8445 §14.2: 50 ms by default).
        var checkInterval: Duration = .milliseconds(50)
        /// First retransmission timeout of a check, doubled each time (RFC 8489 §6.2.1).
        var initialRTO: Duration = .milliseconds(250)
        var maxRTO: Duration = .milliseconds(1600)
        /// Transmissions of one check before its pair fails (RFC 8489 §6.2.1 Rc = 7).
        var maxTransmissions = 7
        /// RFC 7675 §5.1: a consent check every 5 s on average…
        var consentInterval: Duration = .seconds(5)
        /// …randomized by ±20 % (4–6 s), so peers do not fall into lockstep.
        var consentJitter = 0.2
        /// No consent response for this long → disconnected (one interval and a half: a check
        /// and all its retransmissions went unanswered).
        var disconnectedAfter: Duration = .milliseconds(7500)
        /// RFC 7675 §5.1: consent expires after 30 s without a response → failed.
        var failedAfter: Duration = .seconds(30)
        /// Checking that has not succeeded on any pair for this long → failed.
        var checkingTimeout: Duration = .seconds(30)
        /// Most pairs kept (RFC 8445 §6.1.2.5 suggests a limit; 100 is its default).
        var maxPairs = 100
        /// Which remote candidates are checked, and how many are kept.
        var candidates = RemoteCandidatePolicy()
    }

    private struct Transaction: Sendable {
        var pairIndex: Int
        var bytes: [UInt8]
        var transmissions: Int
        var rto: Duration
        var retransmitAt: ContinuousClock.Instant
        var useCandidate: Bool
        var isConsent: Bool
    }

    private(set) var configuration: Configuration
    private let localPwdBytes: [UInt8]
    private(set) var role: ICERole
    private(set) var state: ICEConnectionState = .new
    private(set) var counters = ICECounters()
    /// Our host candidates, one per bound address, in preference order.
    private(set) var localCandidates: [ICECandidate] = []
    private var localBases: [TransportAddress] = []
    private(set) var remoteCandidates: [ICECandidate] = []
    private var remoteUfrag: String?
    private var remotePwdBytes: [UInt8]?
    private var remoteEndOfCandidates = false
    private(set) var pairs: [ICECandidatePair] = []
    private var triggered: [Int] = []
    private var transactions: [StunTransactionID: Transaction] = [:]
    private var nextCheckAt: ContinuousClock.Instant?
    private var checkingSince: ContinuousClock.Instant?
    private var nominating: Int?
    private(set) var selectedIndex: Int?
    private var lastConsentAt: ContinuousClock.Instant?
    private var nextConsentAt: ContinuousClock.Instant?
    /// Remote addresses that sent us an authenticated check (peer-reflexive or known); the
    /// newest 16, so a peer cannot grow it by authenticating from ever new sources.
    private var validatedRemotes = RecentAddresses()

    init(_ configuration: Configuration, localAddresses: [TransportAddress]) {
        self.configuration = configuration
        self.role = configuration.role
        self.localPwdBytes = Array(configuration.localPwd.utf8)
        // RFC 8445 §5.1.2.1: distinct local preferences, the first address most preferred;
        // IPv6 after IPv4 since the test network and LiveKit servers are IPv4.
        let ordered = localAddresses.filter { $0.ip.isIPv4 } + localAddresses.filter { !$0.ip.isIPv4 }
        for (index, address) in ordered.enumerated() {
            localBases.append(address)
            localCandidates.append(ICECandidate(host: address, localPreference: UInt16(65535 - min(index, 65535))))
        }
    }

    var selectedPair: ICESelectedPair? { selectedIndex.map { pairs[$0].selected } }

    // MARK: - Input from signaling

    mutating func setRemoteCredentials(ufrag: String, pwd: String) {
        remoteUfrag = ufrag
        remotePwdBytes = Array(pwd.utf8)
    }

    /// Adds a remote candidate (from the SDP or trickled). Candidates we cannot use — TCP,
    /// other components, names that are not IP literals — are ignored, not errors; addresses
    /// the policy refuses, and any past its count, are counted and ignored.
    mutating func addRemoteCandidate(_ candidate: ICECandidate, now: ContinuousClock.Instant) -> [ICEAction] {
        guard state != .closed, candidate.transport == "udp", candidate.component == 1,
              let address = candidate.transportAddress,
              !remoteCandidates.contains(where: { $0.transportAddress == address }) else { return [] }
        guard configuration.candidates.accepts(address),
              remoteCandidates.count < configuration.candidates.maxCandidates else {
            counters.refusedCandidates += 1
            return []
        }
        remoteCandidates.append(candidate)
        for base in localBases where base.ip.isIPv4 == address.ip.isIPv4 {
            _ = addPair(local: base, remote: address, remotePriority: candidate.priority)
        }
        return startIfReady(now: now)
    }

    mutating func setRemoteEndOfCandidates(now: ContinuousClock.Instant) -> [ICEAction] {
        remoteEndOfCandidates = true
        return failIfExhausted()
    }

    /// Starts checking once there is something to check (owner calls after setting credentials).
    mutating func startIfReady(now: ContinuousClock.Instant) -> [ICEAction] {
        guard state == .new, remotePwdBytes != nil, !pairs.isEmpty else { return [] }
        checkingSince = now
        nextCheckAt = now
        return setState(.checking)
    }

    private mutating func addPair(local: TransportAddress, remote: TransportAddress, remotePriority: UInt32) -> Int? {
        if let existing = pairs.firstIndex(where: { $0.local == local && $0.remote == remote }) { return existing }
        guard pairs.count < configuration.maxPairs,
              let localIndex = localBases.firstIndex(of: local) else { return nil }
        pairs.append(ICECandidatePair(local: local, remote: remote, localPriority: localCandidates[localIndex].priority,
                                      remotePriority: remotePriority))
        return pairs.count - 1
    }

    // MARK: - Datagrams

    mutating func handleDatagram(_ datagram: [UInt8], from remote: TransportAddress, to local: TransportAddress,
                                 now: ContinuousClock.Instant) -> [ICEAction] {
        guard state != .closed else { return [] }
        switch DatagramKind(datagram) {
        case .dtls:
            guard state != .failed, validatedRemotes.contains(remote) || pairs.contains(where: { $0.remote == remote && $0.state == .succeeded })
            else {
                counters.unknownSource += 1
                return []
            }
            return [.deliver(datagram, from: remote)]
        case .other:
            counters.unknownProtocol += 1
            return []
        case .stun:
            let message: StunMessage
            do {
                message = try StunMessage.decode(datagram)
            } catch {
                counters.malformed += 1
                counters.lastError = error
                return []
            }
            guard message.method == .binding else { return [] }
            switch message.messageClass {
            case .request: return handleRequest(datagram, message, from: remote, to: local, now: now)
            case .successResponse, .errorResponse: return handleResponse(datagram, message, from: remote, to: local, now: now)
            case .indication: return []
            }
        }
    }

    /// RFC 8445 §7.3: answer a check, resolve role conflicts, learn peer-reflexive candidates,
    /// trigger our own check on the pair, and follow nomination when controlled.
    private mutating func handleRequest(_ bytes: [UInt8], _ message: StunMessage, from remote: TransportAddress,
                                        to local: TransportAddress, now: ContinuousClock.Instant) -> [ICEAction] {
        let request: ICEBindingRequest
        do throws(WebRTCDataError) {
            request = try ICEBindingRequest(bytes: bytes, message: message, localUfrag: configuration.localUfrag,
                                            localPwd: localPwdBytes)
            if let remoteUfrag, request.remoteUfrag != remoteUfrag {
                throw WebRTCDataError(.ice, .badCredentials, at: "USERNAME", "remote ufrag \(request.remoteUfrag), expected \(remoteUfrag)")
            }
        } catch {
            counters.unauthenticated += 1
            counters.lastError = error
            return [.send(ICEBindingRequest.errorResponse(to: message, error: .unauthorized, localPwd: nil), from: local, to: remote)]
        }
        var actions: [ICEAction] = []
        // RFC 8445 §7.3.1.1: both sides claim the same role; the larger tie-breaker controls.
        if let claimed = request.role, claimed.role == role {
            let weWin = configuration.tieBreaker >= claimed.tieBreaker
            if (role == .controlling) == weWin {
                // We keep our role; the peer must switch.
                return [.send(ICEBindingRequest.errorResponse(to: message, error: .roleConflict, localPwd: localPwdBytes),
                              from: local, to: remote)]
            }
            switchRole()
        }
        counters.requestsAnswered += 1
        validatedRemotes.insert(remote)
        actions.append(.send(ICEBindingRequest.successResponse(to: message, source: remote, localPwd: localPwdBytes),
                             from: local, to: remote))
        actions.append(.remoteAuthenticated(remote))
        guard localBases.contains(local) else { return actions }
        // §7.3.1.3: an unknown source is a peer-reflexive remote candidate with the PRIORITY it sent.
        let index: Int?
        if let known = pairs.firstIndex(where: { $0.local == local && $0.remote == remote }) {
            index = known
        } else {
            // The source proved itself by authenticating, so only the count limits it.
            if pairs.count < configuration.maxPairs, remoteCandidates.count < configuration.candidates.maxCandidates,
               !remoteCandidates.contains(where: { $0.transportAddress == remote }) {
                remoteCandidates.append(ICECandidate(foundation: "prflx\(remoteCandidates.count)",
                                                     priority: request.priority ?? 0, address: remote.ip.description,
                                                     port: remote.port, kind: .prflx))
            }
            index = addPair(local: local, remote: remote, remotePriority: request.priority ?? 0)
        }
        guard let index else { return actions }
        // §7.3.1.4: triggered check, unless the pair already works.
        if pairs[index].state != .succeeded, pairs[index].state != .inProgress, !triggered.contains(index) {
            pairs[index].state = .waiting
            triggered.append(index)
        }
        // §7.3.1.5: the controlling peer nominates this pair.
        if role == .controlled, request.useCandidate {
            if pairs[index].state == .succeeded {
                actions += nominate(index, now: now)
            } else {
                pairs[index].nominateOnSuccess = true
            }
        }
        if state == .new, remotePwdBytes != nil {
            actions += startIfReady(now: now)
        }
        if nextCheckAt == nil, state != .new { nextCheckAt = now }
        return actions
    }

    /// RFC 8445 §7.2.5: a response to one of our checks.
    private mutating func handleResponse(_ bytes: [UInt8], _ message: StunMessage, from remote: TransportAddress,
                                         to local: TransportAddress, now: ContinuousClock.Instant) -> [ICEAction] {
        guard let transaction = transactions[message.transactionID], let remotePwdBytes else {
            counters.unmatchedResponses += 1
            return []
        }
        do {
            try StunMessage.verifyFingerprint(bytes)
            try StunMessage.verifyIntegrity(bytes, key: remotePwdBytes)
        } catch {
            // §7.2.5.2: a response that fails integrity is discarded; the transaction goes on.
            counters.unauthenticated += 1
            counters.lastError = error
            return []
        }
        transactions[message.transactionID] = nil
        let index = transaction.pairIndex
        // §7.2.5.2.1: source and destination must be symmetric with the request's.
        guard pairs[index].remote == remote, pairs[index].local == local else {
            pairs[index].state = .failed
            return failIfExhausted()
        }
        var actions: [ICEAction] = [.remoteAuthenticated(remote)]
        if message.messageClass == .errorResponse {
            let code = (try? message.errorCode())?.code
            if code == StunErrorCode.roleConflict.code {
                // §7.2.5.1: switch role and check the pair again.
                if transaction.isConsent == false {
                    switchRole()
                    pairs[index].state = .waiting
                    triggered.append(index)
                }
                return actions
            }
            if transaction.isConsent { return actions }
            pairs[index].state = .failed
            return failIfExhausted()
        }
        if transaction.isConsent {
            // RFC 7675 §5.1: an authenticated response renews consent.
            if selectedIndex == index {
                lastConsentAt = now
                if state == .disconnected { actions += setState(.connected) }
            }
            return actions
        }
        pairs[index].state = .succeeded
        if role == .controlling {
            if transaction.useCandidate {
                // §8.1.1 / §7.2.5.3.4: a successful check with USE-CANDIDATE nominates the pair.
                actions += nominate(index, now: now)
            } else if configuration.nomination == .regular, nominating == nil, selectedIndex == nil {
                // Regular nomination: nominate the best pair that has succeeded so far.
                let best = pairs.indices.filter { pairs[$0].state == .succeeded }
                    .max { pairs[$0].priority(role: role) < pairs[$1].priority(role: role) } ?? index
                nominating = best
                triggered.insert(best, at: 0)
                nextCheckAt = min(nextCheckAt ?? now, now)
            }
        } else if pairs[index].nominateOnSuccess {
            actions += nominate(index, now: now)
        }
        return actions
    }

    private mutating func nominate(_ index: Int, now: ContinuousClock.Instant) -> [ICEAction] {
        pairs[index].nominated = true
        nominating = nil
        // Keep the higher-priority nominated pair if two get nominated (aggressive nomination).
        if let current = selectedIndex, current != index,
           pairs[current].priority(role: role) >= pairs[index].priority(role: role) {
            return []
        }
        guard selectedIndex != index else { return [] }
        selectedIndex = index
        lastConsentAt = now
        nextConsentAt = now + nextConsentDelay()
        return [.selectedPairChanged(pairs[index].selected)] + setState(.connected)
    }

    private func nextConsentDelay() -> Duration {
        let jitter = max(0, min(configuration.consentJitter, 0.9))
        return configuration.consentInterval * Double.random(in: (1 - jitter)...(1 + jitter))
    }

    private mutating func switchRole() {
        role = role.opposite
        configuration.role = role
        nominating = nil
    }

    // MARK: - Time

    var nextDeadline: ContinuousClock.Instant? {
        guard state != .closed, state != .failed else { return nil }
        var deadlines: [ContinuousClock.Instant] = transactions.values.map(\.retransmitAt)
        if let nextCheckAt, hasCheckToSend { deadlines.append(nextCheckAt) }
        if let checkingSince, selectedIndex == nil { deadlines.append(checkingSince + configuration.checkingTimeout) }
        if selectedIndex != nil {
            if let nextConsentAt { deadlines.append(nextConsentAt) }
            if let lastConsentAt {
                deadlines.append(lastConsentAt + (state == .connected ? configuration.disconnectedAfter : configuration.failedAfter))
            }
        }
        return deadlines.min()
    }

    private var hasCheckToSend: Bool {
        guard remotePwdBytes != nil, state != .new else { return false }
        return !triggered.isEmpty || (selectedIndex == nil && pairs.contains { $0.state == .waiting })
    }

    mutating func handleTimeout(now: ContinuousClock.Instant) -> [ICEAction] {
        guard state != .closed, state != .failed else { return [] }
        var actions: [ICEAction] = []
        // Retransmissions (RFC 8489 §6.2.1), or give the pair up.
        for (id, transaction) in transactions where transaction.retransmitAt <= now {
            if transaction.transmissions >= configuration.maxTransmissions {
                transactions[id] = nil
                if !transaction.isConsent {
                    pairs[transaction.pairIndex].state = .failed
                    if nominating == transaction.pairIndex { nominating = nil }
                }
                continue
            }
            var next = transaction
            next.transmissions += 1
            next.rto = min(next.rto * 2, configuration.maxRTO)
            next.retransmitAt = now + next.rto
            transactions[id] = next
            counters.checksSent += 1
            actions.append(.send(transaction.bytes, from: pairs[transaction.pairIndex].local, to: pairs[transaction.pairIndex].remote))
        }
        // One new check per Ta: triggered first (§6.1.4.2), then the best Waiting pair (§6.1.4.2).
        if let nextCheckAt, nextCheckAt <= now, hasCheckToSend {
            var index: Int?
            while index == nil, !triggered.isEmpty {
                let candidate = triggered.removeFirst()
                if pairs[candidate].state != .failed || nominating == candidate { index = candidate }
            }
            if index == nil, selectedIndex == nil {
                index = pairs.indices.filter { pairs[$0].state == .waiting }
                    .max { pairs[$0].priority(role: role) < pairs[$1].priority(role: role) }
            }
            if let index {
                let useCandidate = role == .controlling
                    && (configuration.nomination == .aggressive || nominating == index)
                actions.append(sendCheck(on: index, useCandidate: useCandidate, isConsent: false, now: now))
            }
            self.nextCheckAt = now + configuration.checkInterval
        }
        // Consent freshness on the selected pair (RFC 7675 §5.1).
        if let selected = selectedIndex, let lastConsentAt {
            if let nextConsentAt, nextConsentAt <= now {
                actions.append(sendCheck(on: selected, useCandidate: false, isConsent: true, now: now))
                self.nextConsentAt = now + nextConsentDelay()
            }
            if now - lastConsentAt >= configuration.failedAfter {
                actions += setState(.failed)
                transactions.removeAll()
            } else if now - lastConsentAt >= configuration.disconnectedAfter, state == .connected {
                actions += setState(.disconnected)
            }
        } else if let checkingSince, state == .checking, now - checkingSince >= configuration.checkingTimeout {
            actions += setState(.failed)
        }
        actions += failIfExhausted()
        return actions
    }

    /// Checking fails once every pair failed and the peer said it has no more candidates.
    private mutating func failIfExhausted() -> [ICEAction] {
        guard state == .checking, remoteEndOfCandidates, selectedIndex == nil, !pairs.isEmpty,
              pairs.allSatisfy({ $0.state == .failed }) else { return [] }
        return setState(.failed)
    }

    /// RFC 8445 §7.2.2: USERNAME `<their ufrag>:<ours>`, PRIORITY of the peer-reflexive
    /// candidate this check could create (§7.1.1), our role and tie-breaker, USE-CANDIDATE when
    /// nominating, MESSAGE-INTEGRITY with their password, FINGERPRINT.
    private mutating func sendCheck(on index: Int, useCandidate: Bool, isConsent: Bool,
                                    now: ContinuousClock.Instant) -> ICEAction {
        var request = StunMessage(method: .binding, messageClass: .request, transactionID: .random())
        request.setUsername("\(remoteUfrag ?? ""):\(configuration.localUfrag)")
        let localPreference = UInt16(truncatingIfNeeded: (pairs[index].localPriority >> 8) & 0xFFFF)
        request.setPriority(ICECandidate.priority(kind: .prflx, localPreference: localPreference))
        request.setICERole(role, tieBreaker: configuration.tieBreaker)
        if useCandidate { request.setUseCandidate() }
        let bytes = request.encode(integrityKey: remotePwdBytes ?? [], fingerprint: true)
        if !isConsent, pairs[index].state != .succeeded { pairs[index].state = .inProgress }
        transactions[request.transactionID] = Transaction(pairIndex: index, bytes: bytes, transmissions: 1,
                                                          rto: configuration.initialRTO,
                                                          retransmitAt: now + configuration.initialRTO,
                                                          useCandidate: useCandidate, isConsent: isConsent)
        counters.checksSent += 1
        return .send(bytes, from: pairs[index].local, to: pairs[index].remote)
    }

    // MARK: - Data and shutdown

    /// Data goes out on the selected pair; nil while there is none or after failure.
    func send(_ datagram: [UInt8]) -> ICEAction? {
        guard let selectedIndex, state == .connected || state == .disconnected else { return nil }
        return .send(datagram, from: pairs[selectedIndex].local, to: pairs[selectedIndex].remote)
    }

    mutating func close() -> [ICEAction] {
        transactions.removeAll()
        triggered.removeAll()
        return setState(.closed)
    }

    private mutating func setState(_ new: ICEConnectionState) -> [ICEAction] {
        guard new != state else { return [] }
        state = new
        return [.stateChanged(new)]
    }
}
