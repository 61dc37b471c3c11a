import XCTest
@testable import WebRTCData

/// Either kind of agent, so one in-memory network drives any pairing.
enum TestAgent {
    case full(ICEAgent)
    case lite(ICELiteAgent)

    var state: ICEConnectionState {
        switch self {
        case .full(let agent): agent.state
        case .lite(let agent): agent.state
        }
    }

    var selectedPair: ICESelectedPair? {
        switch self {
        case .full(let agent): agent.selectedPair
        case .lite(let agent): agent.selectedPair
        }
    }

    var nextDeadline: ContinuousClock.Instant? {
        switch self {
        case .full(let agent): agent.nextDeadline
        case .lite(let agent): agent.nextDeadline
        }
    }

    mutating func handle(_ datagram: [UInt8], from: TransportAddress, to: TransportAddress, now: ContinuousClock.Instant) -> [ICEAction] {
        switch self {
        case .full(var agent):
            defer { self = .full(agent) }
            return agent.handleDatagram(datagram, from: from, to: to, now: now)
        case .lite(var agent):
            defer { self = .lite(agent) }
            return agent.handleDatagram(datagram, from: from, to: to, now: now)
        }
    }

    mutating func timeout(now: ContinuousClock.Instant) -> [ICEAction] {
        switch self {
        case .full(var agent):
            defer { self = .full(agent) }
            return agent.handleTimeout(now: now)
        case .lite(var agent):
            defer { self = .lite(agent) }
            return agent.handleTimeout(now: now)
        }
    }

    func send(_ datagram: [UInt8]) -> ICEAction? {
        switch self {
        case .full(let agent): agent.send(datagram)
        case .lite(let agent): agent.send(datagram)
        }
    }

    var full: ICEAgent? { if case .full(let agent) = self { agent } else { nil } }
}

/// Two agents wired back to back in memory with a fake clock: datagrams are delivered in
/// order after `latency`; `drop` decides which are lost. Every step is bounded.
struct VirtualNetwork {
    var a: TestAgent
    var b: TestAgent
    let addressA: TransportAddress
    let addressB: TransportAddress
    var now: ContinuousClock.Instant
    var latency: Duration = .milliseconds(1)
    var drop: (_ datagram: [UInt8], _ to: TransportAddress) -> Bool = { _, _ in false }
    private(set) var inFlight: [(at: ContinuousClock.Instant, datagram: [UInt8], from: TransportAddress, to: TransportAddress)] = []
    private(set) var delivered: [(to: TransportAddress, datagram: [UInt8])] = []
    private(set) var statesA: [ICEConnectionState] = []
    private(set) var statesB: [ICEConnectionState] = []

    init(a: TestAgent, b: TestAgent, addressA: TransportAddress, addressB: TransportAddress) {
        self.a = a
        self.b = b
        self.addressA = addressA
        self.addressB = addressB
        self.now = ContinuousClock.now
    }

    mutating func perform(_ actions: [ICEAction], by side: TransportAddress) {
        for action in actions {
            switch action {
            case .send(let datagram, let from, let to):
                precondition(from == side, "agent sent from an address it does not own")
                if !drop(datagram, to) { inFlight.append((now + latency, datagram, from, to)) }
            case .deliver(let datagram, _):
                delivered.append((side, datagram))
            case .stateChanged(let state):
                if side == addressA { statesA.append(state) } else { statesB.append(state) }
            case .selectedPairChanged, .remoteAuthenticated:
                break
            }
        }
    }

    /// Advances to the next event (a datagram arrival or an agent deadline) and runs it.
    mutating func step() {
        let nextArrival = inFlight.map(\.at).min()
        let deadlines = [a.nextDeadline, b.nextDeadline, nextArrival].compactMap { $0 }
        guard let next = deadlines.min() else {
            now += .milliseconds(100)
            return
        }
        now = max(now, next)
        let arriving = inFlight.filter { $0.at <= now }
        inFlight.removeAll { $0.at <= now }
        for packet in arriving {
            if packet.to == addressA {
                perform(a.handle(packet.datagram, from: packet.from, to: packet.to, now: now), by: addressA)
            } else if packet.to == addressB {
                perform(b.handle(packet.datagram, from: packet.from, to: packet.to, now: now), by: addressB)
            }
        }
        if let deadline = a.nextDeadline, deadline <= now { perform(a.timeout(now: now), by: addressA) }
        if let deadline = b.nextDeadline, deadline <= now { perform(b.timeout(now: now), by: addressB) }
    }

    /// Steps until `condition` holds or `limit` of virtual time passes; returns whether it held.
    @discardableResult
    mutating func run(for limit: Duration, until condition: (VirtualNetwork) -> Bool) -> Bool {
        let end = now + limit
        var steps = 0
        while !condition(self), now < end, steps < 100_000 {
            step()
            steps += 1
        }
        return condition(self)
    }
}

final class ICEAgentTests: XCTestCase {
    let addressA = TransportAddress(host: "10.99.0.1", port: 40001)!
    let addressB = TransportAddress(host: "10.99.0.2", port: 40002)!
    let dtlsRecord: [UInt8] = [22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 1]

    func fullAgent(_ role: ICERole, ufrag: String, pwd: String, address: TransportAddress, tieBreaker: UInt64 = 1,
                   nomination: ICEAgent.Nomination = .regular) -> ICEAgent {
        var configuration = ICEAgent.Configuration(role: role, localUfrag: ufrag, localPwd: pwd)
        configuration.tieBreaker = tieBreaker
        configuration.nomination = nomination
        return ICEAgent(configuration, localAddresses: [address])
    }

    /// Exchanges credentials and candidates as signaling would, then starts both.
    func wire(_ a: inout ICEAgent, _ b: inout ICEAgent, network: inout VirtualNetwork) {
        a.setRemoteCredentials(ufrag: "bbbb", pwd: "passwordBpasswordBpassB")
        b.setRemoteCredentials(ufrag: "aaaa", pwd: "passwordApasswordApassA")
        for candidate in b.localCandidates { network.perform(a.addRemoteCandidate(candidate, now: network.now), by: addressA) }
        for candidate in a.localCandidates { network.perform(b.addRemoteCandidate(candidate, now: network.now), by: addressB) }
    }

    func makeFullPair(roleA: ICERole = .controlling, roleB: ICERole = .controlled, tieA: UInt64 = 1, tieB: UInt64 = 2,
                      nomination: ICEAgent.Nomination = .regular) -> VirtualNetwork {
        var a = fullAgent(roleA, ufrag: "aaaa", pwd: "passwordApasswordApassA", address: addressA, tieBreaker: tieA, nomination: nomination)
        var b = fullAgent(roleB, ufrag: "bbbb", pwd: "passwordBpasswordBpassB", address: addressB, tieBreaker: tieB, nomination: nomination)
        var network = VirtualNetwork(a: .full(a), b: .full(b), addressA: addressA, addressB: addressB)
        wire(&a, &b, network: &network)
        network.a = .full(a)
        network.b = .full(b)
        return network
    }

    func connected(_ network: VirtualNetwork) -> Bool {
        network.a.state == .connected && network.b.state == .connected
    }

    func testFullToFullConnectsWithRegularNomination() {
        var network = makeFullPair()
        XCTAssertTrue(network.run(for: .seconds(5), until: connected))
        XCTAssertEqual(network.a.selectedPair, ICESelectedPair(local: addressA, remote: addressB))
        XCTAssertEqual(network.b.selectedPair, ICESelectedPair(local: addressB, remote: addressA))
        XCTAssertEqual(network.statesA, [.checking, .connected])
        XCTAssertEqual(network.statesB, [.checking, .connected])
        // The controlled side learned the nomination from USE-CANDIDATE.
        XCTAssertEqual(network.b.full?.pairs.first?.nominated, true)
        // Data flows both ways on the selected pair and reaches the layer above.
        if case .send(let bytes, let from, let to)? = network.a.send(dtlsRecord) {
            network.perform([.send(bytes, from: from, to: to)], by: addressA)
        }
        if case .send(let bytes, let from, let to)? = network.b.send(dtlsRecord) {
            network.perform([.send(bytes, from: from, to: to)], by: addressB)
        }
        network.run(for: .milliseconds(10)) { $0.delivered.count == 2 }

        XCTAssertEqual(Set(network.delivered.map(\.to)), [addressA, addressB])
        XCTAssertTrue(network.delivered.allSatisfy { $0.datagram == dtlsRecord })
    }

    func testAggressiveNominationConnects() {
        var network = makeFullPair(nomination: .aggressive)
        XCTAssertTrue(network.run(for: .seconds(5), until: connected))
        XCTAssertEqual(network.b.full?.pairs.first?.nominated, true)
    }

    func testFullControllingToLiteConnects() {
        var full = fullAgent(.controlling, ufrag: "aaaa", pwd: "passwordApasswordApassA", address: addressA)
        var lite = ICELiteAgent(ICELiteAgent.Configuration(localUfrag: "bbbb", localPwd: "passwordBpasswordBpassB"))
        lite.remoteUfrag = "aaaa"
        var network = VirtualNetwork(a: .full(full), b: .lite(lite), addressA: addressA, addressB: addressB)
        full.setRemoteCredentials(ufrag: "bbbb", pwd: "passwordBpasswordBpassB")
        network.perform(full.addRemoteCandidate(ICECandidate(host: addressB, localPreference: 65535), now: network.now), by: addressA)
        network.a = .full(full)
        XCTAssertTrue(network.run(for: .seconds(5), until: connected))
        XCTAssertEqual(network.b.selectedPair, ICESelectedPair(local: addressB, remote: addressA))
        // Consent checks keep both connected well past the lite agent's 15 s silence limit.
        network.run(for: .seconds(60)) { _ in false }
        XCTAssertEqual(network.a.state, .connected)
        XCTAssertEqual(network.b.state, .connected)
    }

    func testConsentLossGoesDisconnectedThenFailed() {
        var network = makeFullPair()
        XCTAssertTrue(network.run(for: .seconds(5), until: connected))
        let lostAt = network.now
        // From now on B hears nothing from A and A nothing from B.
        network.drop = { _, _ in true }
        XCTAssertTrue(network.run(for: .seconds(20)) { $0.a.state == .disconnected })
        let disconnectedAfter = network.now - lostAt
        XCTAssertGreaterThanOrEqual(disconnectedAfter, .milliseconds(7500))
        XCTAssertLessThan(disconnectedAfter, .seconds(13))
        XCTAssertTrue(network.run(for: .seconds(40)) { $0.a.state == .failed })
        let failedAfter = network.now - lostAt
        XCTAssertGreaterThanOrEqual(failedAfter, .seconds(30))
        XCTAssertLessThan(failedAfter, .seconds(36))
        XCTAssertEqual(Array(network.statesA.suffix(2)), [.disconnected, .failed])
        // A failed agent sends no data.
        XCTAssertNil(network.a.send(dtlsRecord))
    }

    func testConsentRecoversFromDisconnected() {
        var network = makeFullPair()
        XCTAssertTrue(network.run(for: .seconds(5), until: connected))
        network.drop = { _, _ in true }
        XCTAssertTrue(network.run(for: .seconds(20)) { $0.a.state == .disconnected })
        network.drop = { _, _ in false }
        XCTAssertTrue(network.run(for: .seconds(10)) { $0.a.state == .connected })
        XCTAssertEqual(Array(network.statesA.suffix(2)), [.disconnected, .connected])
    }

    func testRoleConflictBothControllingResolvesByTieBreaker() {
        // Both think they control; B has the larger tie-breaker and keeps the role (§7.3.1.1).
        var network = makeFullPair(roleA: .controlling, roleB: .controlling, tieA: 10, tieB: 20)
        XCTAssertTrue(network.run(for: .seconds(5), until: connected))
        XCTAssertEqual(network.a.full?.role, .controlled)
        XCTAssertEqual(network.b.full?.role, .controlling)
    }

    func testRoleConflictBothControlledResolvesByTieBreaker() {
        var network = makeFullPair(roleA: .controlled, roleB: .controlled, tieA: 30, tieB: 20)
        XCTAssertTrue(network.run(for: .seconds(5), until: connected))
        XCTAssertEqual(network.a.full?.role, .controlling)
        XCTAssertEqual(network.b.full?.role, .controlled)
    }

    func testLossyStartStillConnectsThroughRetransmissions() {
        var network = makeFullPair()
        var dropped = 0
        // Lose the first three datagrams in each direction.
        var counts: [TransportAddress: Int] = [:]
        network.drop = { _, to in
            counts[to, default: 0] += 1
            if counts[to]! <= 3 { dropped += 1; return true }
            return false
        }
        XCTAssertTrue(network.run(for: .seconds(10), until: connected))
        XCTAssertEqual(dropped, 6)
    }

    func testUnreachablePeerFailsAfterEndOfCandidates() {
        var network = makeFullPair()
        network.drop = { _, _ in true }
        if case .full(var a) = network.a {
            _ = a.setRemoteEndOfCandidates(now: network.now)
            network.a = .full(a)
        }
        XCTAssertTrue(network.run(for: .seconds(40)) { $0.a.state == .failed })
        XCTAssertLessThan(network.now - ContinuousClock.now, .seconds(40))
    }

    func testBadCredentialsAndGarbageAreCountedNotFatal() throws {
        var lite = ICELiteAgent(ICELiteAgent.Configuration(localUfrag: "bbbb", localPwd: "passwordBpasswordBpassB"))
        let now = ContinuousClock.now
        // Wrong password.
        var request = StunMessage(messageClass: .request, transactionID: .random())
        request.setUsername("bbbb:aaaa")
        request.setICERole(.controlling, tieBreaker: 5)
        let wrong = request.encode(integrityKey: Array("not the password".utf8), fingerprint: true)
        let actions = lite.handleDatagram(wrong, from: addressA, to: addressB, now: now)
        guard case .send(let reply, _, _)? = actions.first else { return XCTFail("no reply") }
        XCTAssertEqual(try StunMessage.decode(reply).errorCode()?.code, 401)
        // Garbage that looks like STUN, DTLS from an unknown source, other protocols.
        XCTAssertTrue(lite.handleDatagram([0, 1, 0, 4, 0x21, 0x12, 0xA4, 0x42] + Array(repeating: 0, count: 12),
                                          from: addressA, to: addressB, now: now).isEmpty)
        XCTAssertTrue(lite.handleDatagram(dtlsRecord, from: addressA, to: addressB, now: now).isEmpty)
        XCTAssertTrue(lite.handleDatagram([0x80, 0], from: addressA, to: addressB, now: now).isEmpty)
        XCTAssertEqual(lite.counters.unauthenticated, 1)
        XCTAssertEqual(lite.counters.malformed, 1)
        XCTAssertEqual(lite.counters.unknownSource, 1)
        XCTAssertEqual(lite.counters.unknownProtocol, 1)
        XCTAssertEqual(lite.state, .new)
        // A correct request is answered with our XOR-MAPPED-ADDRESS view of the source.
        let good = request.encode(integrityKey: Array("passwordBpasswordBpassB".utf8), fingerprint: true)
        let answer = lite.handleDatagram(good, from: addressA, to: addressB, now: now)
        guard case .send(let success, let from, let to)? = answer.first else { return XCTFail("no answer") }
        XCTAssertEqual(from, addressB)
        XCTAssertEqual(to, addressA)
        let decoded = try StunMessage.decode(success)
        XCTAssertEqual(decoded.messageClass, .successResponse)
        XCTAssertEqual(try decoded.xorMappedAddress(), addressA)
        XCTAssertNoThrow(try StunMessage.verifyIntegrity(success, key: Array("passwordBpasswordBpassB".utf8)))
        XCTAssertEqual(lite.state, .checking)
    }

    func testPairPriorityFollowsRFC8445() {
        let pair = ICECandidatePair(local: addressA, remote: addressB, localPriority: 100, remotePriority: 200)
        // Controlling: G = 100, D = 200 → 2^32·100 + 2·200 + 0.
        XCTAssertEqual(pair.priority(role: .controlling), (100 << 32) + 400)
        // Controlled: G = 200, D = 100 → 2^32·100 + 2·200 + 1.
        XCTAssertEqual(pair.priority(role: .controlled), (100 << 32) + 401)
    }
}
