import XCTest
@testable import WebRTCData

/// What a peer can make a full agent check: candidates it names are bounded in number and
/// filtered by address, so the server's agent cannot be pointed at its own loopback services,
/// multicast groups or the broadcast address, and cannot be made to hold an unbounded list.
final class ICERemoteCandidateTests: XCTestCase {
    let local = TransportAddress(host: "10.99.0.1", port: 40001)!

    /// A controlling agent with the server's policy (loopback refused) unless told otherwise.
    func agent(localAddresses: [TransportAddress], allowLoopback: Bool = false) -> ICEAgent {
        var configuration = ICEAgent.Configuration(role: .controlling, localUfrag: "aaaa", localPwd: "passwordApasswordApassA")
        configuration.candidates.allowLoopback = allowLoopback
        var agent = ICEAgent(configuration, localAddresses: localAddresses)
        agent.setRemoteCredentials(ufrag: "bbbb", pwd: "passwordBpasswordBpassB")
        return agent
    }

    func candidate(_ address: String, _ port: UInt16) throws -> ICECandidate {
        try ICECandidate(parsing: "candidate:1 1 udp 2130706431 \(address) \(port) typ host")
    }

    /// Every datagram the agent sends while `duration` of virtual time passes.
    func sends(_ agent: inout ICEAgent, adding candidates: [ICECandidate], for duration: Duration = .seconds(2)) -> [TransportAddress] {
        var now = ContinuousClock.now
        var destinations: [TransportAddress] = []
        func record(_ actions: [ICEAction]) {
            for case .send(_, _, let to) in actions { destinations.append(to) }
        }
        for candidate in candidates { record(agent.addRemoteCandidate(candidate, now: now)) }
        let end = now + duration
        while let deadline = agent.nextDeadline, deadline <= end {
            now = max(now, deadline)
            record(agent.handleTimeout(now: now))
        }
        return destinations
    }

    func testLoopbackUnspecifiedMulticastAndBroadcastCandidatesAreNeverChecked() throws {
        var agent = agent(localAddresses: [local])
        let refused = try [
            candidate("127.0.0.1", 5353), candidate("127.1.2.3", 22), candidate("0.0.0.0", 9),
            candidate("224.0.0.251", 5353), candidate("239.255.255.250", 1900), candidate("255.255.255.255", 67),
            candidate("10.99.0.2", 0),
        ]
        let destinations = sends(&agent, adding: refused + [try candidate("10.99.0.2", 50000)])
        XCTAssertFalse(destinations.isEmpty, "the one acceptable candidate is checked")
        XCTAssertEqual(Set(destinations), [TransportAddress(host: "10.99.0.2", port: 50000)!])
        XCTAssertEqual(agent.remoteCandidates.count, 1)
        XCTAssertEqual(agent.counters.refusedCandidates, refused.count)
    }

    func testIPv6LoopbackUnspecifiedAndMulticastAreRefusedToo() throws {
        let v6 = TransportAddress(host: "fd00::1", port: 40001)!
        var agent = agent(localAddresses: [v6])
        let destinations = sends(&agent, adding: try [candidate("::1", 5000), candidate("::", 5000),
                                                      candidate("ff02::1", 5000), candidate("fd00::2", 5000)])
        XCTAssertEqual(Set(destinations), [TransportAddress(host: "fd00::2", port: 5000)!])
        XCTAssertEqual(agent.counters.refusedCandidates, 3)
    }

    /// An agent that runs on loopback only (a local test or demo) may check loopback peers.
    func testLoopbackIsCheckedWhenAllowed() throws {
        let loopback = TransportAddress(host: "127.0.0.1", port: 40001)!
        var agent = agent(localAddresses: [loopback], allowLoopback: true)
        let destinations = sends(&agent, adding: [try candidate("127.0.0.1", 5000)])
        XCTAssertEqual(Set(destinations), [TransportAddress(host: "127.0.0.1", port: 5000)!])
    }

    /// A server allows loopback candidates only when it runs on loopback alone (a local test or
    /// demo); a client keeps the default, which allows them.
    func testAServerAllowsLoopbackOnlyWhenBoundToLoopbackOnly() {
        let loopback = TransportAddress(host: "127.0.0.1", port: 0)!
        XCTAssertTrue(RemoteCandidatePolicy.server(boundTo: [loopback]).allowLoopback)
        XCTAssertFalse(RemoteCandidatePolicy.server(boundTo: [local, loopback]).allowLoopback)
        XCTAssertFalse(RemoteCandidatePolicy.server(boundTo: [local]).allowLoopback)
        XCTAssertTrue(RemoteCandidatePolicy().allowLoopback)
    }

    func testTheCandidateListIsBounded() throws {
        var agent = agent(localAddresses: [local])
        var now = ContinuousClock.now
        for index in 0 ..< 10_000 {
            let address = "10.\(index / 65_536 % 256).\(index / 256 % 256).\(index % 256)"
            _ = agent.addRemoteCandidate(try candidate(address, 40000), now: now)
            now += .microseconds(1)
        }
        XCTAssertEqual(agent.remoteCandidates.count, RemoteCandidatePolicy().maxCandidates)
        XCTAssertEqual(agent.counters.refusedCandidates, 10_000 - RemoteCandidatePolicy().maxCandidates)
        XCTAssertLessThanOrEqual(agent.pairs.count, agent.configuration.maxPairs)
    }
}
