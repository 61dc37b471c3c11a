/// An ICE-lite agent (RFC 8445 §2.5, §6.1.1): it has host candidates only, never sends checks,
/// is always controlled, answers authenticated Binding requests and takes the pair the
/// controlling peer nominates with USE-CANDIDATE (§7.3.1.5). The embedded room server runs one
/// per connection.
///
/// A value type: `handle…` methods take the current time and return actions for the owner
/// (one actor per connection) to perform.
struct ICELiteAgent: Sendable {
    struct Configuration: Sendable {
        var localUfrag: String
        var localPwd: String
        /// No authenticated check from the selected remote for this long → disconnected.
        /// Controlling peers send consent checks every ~5 s (RFC 7675 §5.1).
        var disconnectedAfter: Duration = .seconds(15)
        /// … and for this long → failed (RFC 7675 §5.1: consent expires after 30 s).
        var failedAfter: Duration = .seconds(30)
    }

    let configuration: Configuration
    private let localPwdBytes: [UInt8]
    /// The peer's ufrag, once known from signaling; checks from another ufrag are refused.
    var remoteUfrag: String?
    private(set) var state: ICEConnectionState = .new
    private(set) var selectedPair: ICESelectedPair?
    private(set) var counters = ICECounters()
    /// Remote addresses that sent an authenticated check: DTLS from them is accepted. The
    /// newest 16, so a peer cannot grow it by authenticating from ever new sources.
    private var validatedRemotes = RecentAddresses()
    private var lastCheckFromSelected: ContinuousClock.Instant?

    init(_ configuration: Configuration) {
        self.configuration = configuration
        self.localPwdBytes = Array(configuration.localPwd.utf8)
    }

    /// The next time `handleTimeout` has something to do.
    var nextDeadline: ContinuousClock.Instant? {
        guard let last = lastCheckFromSelected else { return nil }
        switch state {
        case .connected: return last + configuration.disconnectedAfter
        case .disconnected: return last + configuration.failedAfter
        default: return nil
        }
    }

    mutating func handleDatagram(_ datagram: [UInt8], from remote: TransportAddress, to local: TransportAddress,
                                 now: ContinuousClock.Instant) -> [ICEAction] {
        guard state != .closed, state != .failed else { return [] }
        switch DatagramKind(datagram) {
        case .dtls:
            guard validatedRemotes.contains(remote) || selectedPair?.remote == remote else {
                counters.unknownSource += 1
                return []
            }
            return [.deliver(datagram, from: remote)]
        case .other:
            counters.unknownProtocol += 1
            return []
        case .stun:
            return handleStun(datagram, from: remote, to: local, now: now)
        }
    }

    private mutating func handleStun(_ bytes: [UInt8], from remote: TransportAddress, to local: TransportAddress,
                                     now: ContinuousClock.Instant) -> [ICEAction] {
        let message: StunMessage
        do {
            message = try StunMessage.decode(bytes)
        } catch {
            counters.malformed += 1
            counters.lastError = error
            return []
        }
        // A lite agent sends no requests, so responses are stray; indications are keepalives.
        guard message.messageClass == .request, message.method == .binding else { return [] }
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
            // RFC 8489 §9.1.3: a bad or missing MESSAGE-INTEGRITY is answered 401, without integrity.
            return [.send(ICEBindingRequest.errorResponse(to: message, error: .unauthorized, localPwd: nil), from: local, to: remote)]
        }
        // RFC 8445 §7.3.1.1: a lite agent is controlled and cannot switch; a peer that also
        // claims controlled is told to switch with 487.
        if let claimed = request.role, claimed.role == .controlled {
            return [.send(ICEBindingRequest.errorResponse(to: message, error: .roleConflict, localPwd: localPwdBytes),
                          from: local, to: remote)]
        }
        counters.requestsAnswered += 1
        validatedRemotes.insert(remote)
        var actions: [ICEAction] = [.send(ICEBindingRequest.successResponse(to: message, source: remote, localPwd: localPwdBytes),
                                          from: local, to: remote),
                                    .remoteAuthenticated(remote)]
        let pair = ICESelectedPair(local: local, remote: remote)
        if pair == selectedPair {
            lastCheckFromSelected = now
            if state == .disconnected { actions += setState(.connected) }
        } else if request.useCandidate {
            // §7.3.1.5: a nominated pair becomes the selected one; a later nomination replaces it
            // (the controlling side moved, e.g. after an address change).
            selectedPair = pair
            lastCheckFromSelected = now
            actions.append(.selectedPairChanged(pair))
            actions += setState(.connected)
        } else if state == .new {
            actions += setState(.checking)
        }
        return actions
    }

    mutating func handleTimeout(now: ContinuousClock.Instant) -> [ICEAction] {
        guard let last = lastCheckFromSelected else { return [] }
        if state == .connected || state == .disconnected, now - last >= configuration.failedAfter {
            return setState(.failed)
        }
        if state == .connected, now - last >= configuration.disconnectedAfter {
            return setState(.disconnected)
        }
        return []
    }

    /// Data goes out on the selected pair; nil while there is none.
    func send(_ datagram: [UInt8]) -> ICEAction? {
        guard let pair = selectedPair, state == .connected || state == .disconnected else { return nil }
        return .send(datagram, from: pair.local, to: pair.remote)
    }

    mutating func close() -> [ICEAction] {
        setState(.closed)
    }

    private mutating func setState(_ new: ICEConnectionState) -> [ICEAction] {
        guard new != state else { return [] }
        state = new
        return [.stateChanged(new)]
    }
}
