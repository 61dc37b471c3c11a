import XCTest
@testable import WebRTCData

/// Who may move a remote address between the transports of a shared port (RFC 8445 §7.3,
/// RFC 8489 §9.2): only a request the named transport's agent authenticated binds an address,
/// and an address bound that way stays with its transport until that transport goes.
final class ICEUDPMuxRoutingTests: XCTestCase {
    let victim = TransportAddress(host: "10.99.0.2", port: 40000)!
    let stranger = TransportAddress(host: "10.99.0.3", port: 40001)!
    let dtls: [UInt8] = [23, 0xFE, 0xFD, 0, 1]

    /// A Binding request as an ICE agent sends it (RFC 8445 §7.2.2), for `ufrag` with `pwd`.
    static func bindingRequest(to ufrag: String, pwd: String, from senderUfrag: String = "peer",
                               useCandidate: Bool = true) -> [UInt8] {
        var request = StunMessage(method: .binding, messageClass: .request, transactionID: .random())
        request.setUsername("\(ufrag):\(senderUfrag)")
        request.setPriority(1_853_824_767)
        request.setICERole(.controlling, tieBreaker: 42)
        if useCandidate { request.setUseCandidate() }
        return request.encode(integrityKey: Array(pwd.utf8), fingerprint: true)
    }

    // MARK: - The routing table, byte by byte

    func testARequestReachesTheTransportItNamesButBindsNothingBeforeItIsAuthenticated() {
        var routes = ICEMuxRoutes()
        XCTAssertTrue(routes.register(ufrag: "aaaa"))
        XCTAssertFalse(routes.register(ufrag: "aaaa"))
        let request = Self.bindingRequest(to: "aaaa", pwd: "whatever-the-agent-will-judge")
        XCTAssertEqual(routes.target(of: request, from: stranger), "aaaa")
        // Nothing but a request is routed from an address no agent vouched for.
        XCTAssertNil(routes.target(of: dtls, from: stranger))
        // The agent authenticated it: now the address is its.
        routes.bindAuthenticated(remote: stranger, ufrag: "aaaa")
        XCTAssertEqual(routes.target(of: dtls, from: stranger), "aaaa")
        // A request naming a transport that is not registered goes nowhere.
        XCTAssertNil(routes.target(of: Self.bindingRequest(to: "zzzz", pwd: "x"), from: victim))
    }

    func testAnAuthenticatedAddressStaysWithItsTransportWhateverLaterRequestsName() {
        var routes = ICEMuxRoutes()
        _ = routes.register(ufrag: "victim")
        _ = routes.register(ufrag: "attacker")
        routes.bindAuthenticated(remote: victim, ufrag: "victim")
        // The attacker knows its own session's password, so its request would authenticate at
        // its own agent; coming from the victim's address it goes to the victim's agent, which
        // refuses it (wrong USERNAME).
        let spoofed = Self.bindingRequest(to: "attacker", pwd: "attacker-pwd")
        XCTAssertEqual(routes.target(of: spoofed, from: victim), "victim")
        // Even a bind for the other transport (a race with the request above) does not move it.
        routes.bindAuthenticated(remote: victim, ufrag: "attacker")
        XCTAssertEqual(routes.target(of: dtls, from: victim), "victim")
        // Once the victim's transport is gone, the address is free for whoever authenticates.
        routes.unregister(ufrag: "victim")
        XCTAssertNil(routes.target(of: dtls, from: victim))
        XCTAssertEqual(routes.target(of: spoofed, from: victim), "attacker")
        routes.bindAuthenticated(remote: victim, ufrag: "attacker")
        XCTAssertEqual(routes.target(of: dtls, from: victim), "attacker")
    }

    func testOurOwnChecksClaimAnAddressOnlyUntilSomeoneAuthenticatesFromIt() {
        var routes = ICEMuxRoutes()
        _ = routes.register(ufrag: "server-sub")
        _ = routes.register(ufrag: "victim")
        // A full agent checks an address a client named: responses from it must come back.
        routes.claim(remote: victim, ufrag: "server-sub")
        XCTAssertEqual(routes.target(of: dtls, from: victim), "server-sub")
        // A second claim does not take it over.
        routes.claim(remote: victim, ufrag: "victim")
        XCTAssertEqual(routes.target(of: dtls, from: victim), "server-sub")
        // A request from it still reaches the transport it names (the claim was only ours)…
        let request = Self.bindingRequest(to: "victim", pwd: "pwd")
        XCTAssertEqual(routes.target(of: request, from: victim), "victim")
        // …whose agent, once it authenticated the request, owns the address.
        routes.bindAuthenticated(remote: victim, ufrag: "victim")
        XCTAssertEqual(routes.target(of: dtls, from: victim), "victim")
        routes.claim(remote: victim, ufrag: "server-sub")
        XCTAssertEqual(routes.target(of: dtls, from: victim), "victim")
    }

    func testTruncatedAndMalformedRequestsRouteNowhereNew() {
        var routes = ICEMuxRoutes()
        _ = routes.register(ufrag: "aaaa")
        let request = Self.bindingRequest(to: "aaaa", pwd: "pwd")
        for length in 0 ..< 20 {
            XCTAssertNil(routes.target(of: Array(request.prefix(length)), from: stranger), "prefix \(length)")
        }
        var noColon = StunMessage(method: .binding, messageClass: .request, transactionID: .random())
        noColon.setUsername("aaaa")
        XCTAssertNil(routes.target(of: noColon.encode(fingerprint: true), from: stranger))
        // A success response (not a request) names no receiver.
        let response = StunMessage(method: .binding, messageClass: .successResponse, transactionID: .random())
        XCTAssertNil(routes.target(of: response.encode(fingerprint: true), from: stranger))
        XCTAssertEqual(routes.boundCount, 0)
    }

    /// A participant that authenticates from ever new (spoofed) sources with its own
    /// credentials, or makes its agent answer them, grows nothing: each transport keeps its
    /// newest addresses, and other transports' addresses are untouched.
    func testAddressesPerTransportAreBounded() {
        var routes = ICEMuxRoutes()
        _ = routes.register(ufrag: "victim")
        _ = routes.register(ufrag: "attacker")
        routes.bindAuthenticated(remote: victim, ufrag: "victim")
        for index in 0 ..< 10_000 {
            let source = TransportAddress(ip: .v4(0x0A00_0000 + UInt32(index)), port: 9)
            routes.bindAuthenticated(remote: source, ufrag: "attacker")
            routes.claim(remote: TransportAddress(ip: .v4(0x0B00_0000 + UInt32(index)), port: 9), ufrag: "attacker")
        }
        XCTAssertEqual(routes.boundCount, 1 + ICEMuxRoutes.maxAuthenticated + ICEMuxRoutes.maxClaimed)
        XCTAssertEqual(routes.target(of: dtls, from: victim), "victim")
        // The newest addresses are the ones kept.
        XCTAssertEqual(routes.target(of: dtls, from: TransportAddress(ip: .v4(0x0A00_0000 + 9_999), port: 9)), "attacker")
        XCTAssertNil(routes.target(of: dtls, from: TransportAddress(ip: .v4(0x0A00_0000), port: 9)))
        routes.unregister(ufrag: "attacker")
        XCTAssertEqual(routes.boundCount, 1)
    }

    func testRecentAddressesKeepTheNewest() {
        var recent = RecentAddresses(capacity: 2)
        let a = TransportAddress(host: "10.0.0.1", port: 1)!
        let b = TransportAddress(host: "10.0.0.2", port: 1)!
        let c = TransportAddress(host: "10.0.0.3", port: 1)!
        XCTAssertNil(recent.insert(a))
        XCTAssertNil(recent.insert(b))
        XCTAssertNil(recent.insert(a), "already there: a becomes the newest")
        XCTAssertEqual(recent.insert(c), b)
        XCTAssertTrue(recent.contains(a))
        XCTAssertFalse(recent.contains(b))
        recent.remove(a)
        XCTAssertEqual(recent.count, 1)
    }

    // MARK: - Over a real shared socket

    /// The probe's attack on loopback: a lite transport serves a "victim" whose ICE agent is
    /// this test's own socket; a second transport belongs to an attacker who knows its own
    /// credentials and sends correctly authenticated requests for it from the victim's address.
    /// The victim's datagrams must keep reaching the victim's transport.
    func testAuthenticatedRequestsForAnotherSessionFromAVictimsAddressDoNotStealIt() async throws {
        let loopback = TransportAddress(host: "127.0.0.1", port: 0)!
        let mux = try ICEUDPMux(addresses: [loopback])
        defer { mux.close() }
        let port = mux.boundAddresses[0]
        let victimSession = try ICETransport(.init(mode: .lite, addresses: [], mux: mux))
        let attackerSession = try ICETransport(.init(mode: .lite, addresses: [], mux: mux))
        try await victimSession.start()
        try await attackerSession.start()
        await victimSession.setRemoteCredentials(ufrag: "peer", pwd: "unused-by-a-lite-agent-x")
        await attackerSession.setRemoteCredentials(ufrag: "evil", pwd: "unused-by-a-lite-agent-x")

        let socket = try UDPSocket(binding: loopback)
        socket.send(Self.bindingRequest(to: victimSession.localUfrag, pwd: victimSession.localPwd), to: port)
        let connected = await victimSession.waitForState([.connected], timeout: .seconds(5))
        XCTAssertEqual(connected, .connected)
        socket.send(dtls, to: port)
        try await waitUntil { await victimSession.delivered == 1 }

        for _ in 0 ..< 20 {
            socket.send(Self.bindingRequest(to: attackerSession.localUfrag, pwd: attackerSession.localPwd, from: "evil"),
                        to: port)
        }
        socket.send(dtls, to: port)
        try await waitUntil { await victimSession.delivered == 2 }
        let stolen = await attackerSession.delivered
        XCTAssertEqual(stolen, 0)
        // The victim's agent saw the spoofed requests and refused them (USERNAME not its own).
        let refused = await victimSession.counters.unauthenticated
        XCTAssertEqual(refused, 20)
        let attackerState = await attackerSession.state
        XCTAssertNotEqual(attackerState, .connected)
        await victimSession.close()
        await attackerSession.close()
    }

    func testUnauthenticatedRequestsNamingASessionBindNoAddress() async throws {
        let loopback = TransportAddress(host: "127.0.0.1", port: 0)!
        let mux = try ICEUDPMux(addresses: [loopback])
        defer { mux.close() }
        let port = mux.boundAddresses[0]
        let session = try ICETransport(.init(mode: .lite, addresses: [], mux: mux))
        try await session.start()
        let socket = try UDPSocket(binding: loopback)
        // The right USERNAME, the wrong password: the agent answers 401 and binds nothing.
        socket.send(Self.bindingRequest(to: session.localUfrag, pwd: "not-the-password-at-all"), to: port)
        try await waitUntil { await session.counters.unauthenticated == 1 }
        socket.send(dtls, to: port)
        try await waitUntil { mux.unroutedCount == 1 }
        let delivered = await session.delivered
        XCTAssertEqual(delivered, 0)
        await session.close()
    }

    private func waitUntil(_ condition: @escaping () async -> Bool, timeout: Duration = .seconds(5)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !(await condition()) {
            guard ContinuousClock.now < deadline else {
                XCTFail("condition not met in \(timeout)")
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
