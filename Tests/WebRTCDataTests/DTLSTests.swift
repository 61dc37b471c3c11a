import XCTest
@testable import WebRTCData

final class DTLSTests: XCTestCase {
    func testFingerprintFormatAndParse() throws {
        let certificate = try DTLSCertificate()
        let text = certificate.fingerprint.description
        XCTAssertTrue(text.hasPrefix("sha-256 "))
        XCTAssertEqual(text.count, "sha-256 ".count + 32 * 3 - 1)
        XCTAssertEqual(try SDPFingerprint(parsing: text), certificate.fingerprint)
        XCTAssertEqual(try SDPFingerprint(parsing: text.lowercased().replacingOccurrences(of: "sha-256", with: "SHA-256")),
                       certificate.fingerprint)
        XCTAssertThrowsError(try SDPFingerprint(parsing: "sha-256 AB:CD"))
        XCTAssertThrowsError(try SDPFingerprint(parsing: "sha-256 ZZ:" + String(repeating: "00:", count: 30) + "00"))
        XCTAssertThrowsError(try SDPFingerprint(parsing: "sha-256"))
    }

    /// Delivers every `.send` of one side to the other until neither has anything to say.
    private func pump(_ client: DTLSConnection, _ server: DTLSConnection, start: [DTLSAction]) -> (client: [DTLSAction], server: [DTLSAction]) {
        var clientSeen: [DTLSAction] = start
        var serverSeen: [DTLSAction] = []
        var toServer = start.compactMap { if case .send(let d) = $0 { d } else { nil } }
        var toClient: [[UInt8]] = []
        var rounds = 0
        while (!toServer.isEmpty || !toClient.isEmpty) && rounds < 100 {
            rounds += 1
            for datagram in toServer {
                let actions = server.feed(datagram)
                serverSeen += actions
                toClient += actions.compactMap { if case .send(let d) = $0 { d } else { nil } }
            }
            toServer = []
            for datagram in toClient {
                let actions = client.feed(datagram)
                clientSeen += actions
                toServer += actions.compactMap { if case .send(let d) = $0 { d } else { nil } }
            }
            toClient = []
        }
        return (clientSeen, serverSeen)
    }

    func testHandshakeAndDataBothWays() throws {
        let clientCert = try DTLSCertificate()
        let serverCert = try DTLSCertificate()
        let client = try DTLSConnection(role: .client, certificate: clientCert, remoteFingerprint: serverCert.fingerprint)
        let server = try DTLSConnection(role: .server, certificate: serverCert, remoteFingerprint: clientCert.fingerprint)
        let start = client.start()
        XCTAssertNotNil(client.nextTimeout, "the ClientHello arms the retransmission timer")
        let seen = pump(client, server, start: start)
        XCTAssertTrue(seen.client.contains(.handshakeComplete))
        XCTAssertTrue(seen.server.contains(.handshakeComplete))
        XCTAssertEqual(client.state, .connected)
        XCTAssertEqual(server.state, .connected)
        XCTAssertEqual(client.peerFingerprint, serverCert.fingerprint)
        XCTAssertEqual(server.peerFingerprint, clientCert.fingerprint)
        for action in start + seen.client + seen.server {
            if case .send(let d) = action { XCTAssertLessThanOrEqual(d.count, 1200) }
        }

        let message = (0 ..< 1100).map { UInt8($0 % 251) }
        var delivered: [[UInt8]] = []
        for case .send(let d) in try client.write(message) {
            for case .deliver(let data) in server.feed(d) { delivered.append(data) }
        }
        XCTAssertEqual(delivered, [message])
        delivered = []
        for case .send(let d) in try server.write([1, 2, 3]) {
            for case .deliver(let data) in client.feed(d) { delivered.append(data) }
        }
        XCTAssertEqual(delivered, [[1, 2, 3]])

        // close_notify reaches the peer as `.closed`.
        var closed = false
        for case .send(let d) in client.close() {
            closed = closed || server.feed(d).contains(.closed)
        }
        XCTAssertTrue(closed)
        XCTAssertEqual(server.state, .closed)
    }

    func testWrongFingerprintFailsTheHandshake() throws {
        let clientCert = try DTLSCertificate()
        let serverCert = try DTLSCertificate()
        let impostor = try DTLSCertificate()
        let client = try DTLSConnection(role: .client, certificate: clientCert, remoteFingerprint: impostor.fingerprint)
        let server = try DTLSConnection(role: .server, certificate: serverCert, remoteFingerprint: clientCert.fingerprint)
        let seen = pump(client, server, start: client.start())
        XCTAssertFalse(seen.client.contains(.handshakeComplete))
        XCTAssertTrue(seen.client.contains { if case .failed = $0 { true } else { false } })
        XCTAssertEqual(client.state, .failed)
        XCTAssertNotEqual(server.state, .connected, "the client's alert stops the server too")
    }

    func testGarbageIsRejectedAndCountedAndTheSessionSurvives() throws {
        let clientCert = try DTLSCertificate()
        let serverCert = try DTLSCertificate()
        let client = try DTLSConnection(role: .client, certificate: clientCert, remoteFingerprint: serverCert.fingerprint)
        let server = try DTLSConnection(role: .server, certificate: serverCert, remoteFingerprint: clientCert.fingerprint)
        // Before the handshake: not DTLS at all.
        XCTAssertEqual(server.feed([0x00, 0x01, 0x02]), [])
        XCTAssertEqual(server.feed([]), [])
        _ = pump(client, server, start: client.start())
        XCTAssertEqual(server.state, .connected)
        var generator = SystemRandomNumberGenerator()
        let garbage: [[UInt8]] = [
            [0x17, 0xFE, 0xFD],                                            // truncated header
            [0x17, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0x40, 0x00, 1, 2], // length beyond datagram
            [0x63] + (0 ..< 40).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }, // wrong type
            [0x17, 0x03, 0x03] + [UInt8](repeating: 0, count: 20),         // TLS, not DTLS, version
        ]
        for datagram in garbage { XCTAssertEqual(server.feed(datagram), []) }
        XCTAssertEqual(server.rejectedDatagrams, garbage.count + 2)
        // A well-framed record with a forged body is dropped by OpenSSL without failing.
        var forged: [UInt8] = [0x17, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 99, 0, 32]
        forged += (0 ..< 32).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
        XCTAssertEqual(server.feed(forged), [])
        XCTAssertEqual(server.state, .connected)
        var delivered: [[UInt8]] = []
        for case .send(let d) in try client.write([42]) {
            for case .deliver(let data) in server.feed(d) { delivered.append(data) }
        }
        XCTAssertEqual(delivered, [[42]])
    }

    func testClientRetransmitsItsFlightOnTimeout() async throws {
        let clientCert = try DTLSCertificate()
        let serverCert = try DTLSCertificate()
        let client = try DTLSConnection(role: .client, certificate: clientCert, remoteFingerprint: serverCert.fingerprint)
        let first = client.start()
        XCTAssertFalse(first.isEmpty)
        let wait = try XCTUnwrap(client.nextTimeout)
        try await Task.sleep(for: wait + .milliseconds(20))
        let again = client.handleTimeout()
        XCTAssertEqual(again.count, first.count, "the ClientHello flight is sent again")
    }

    /// RFC 9147 §5.8.2: 400 ms for a real-time session's first flight, doubled at each expiry
    /// (OpenSSL's own timer starts at 1 s, which a lossy link multiplies into seconds of setup).
    func testAFlightsTimerStartsAt400MillisecondsAndDoubles() async throws {
        let clientCert = try DTLSCertificate()
        let serverCert = try DTLSCertificate()
        let client = try DTLSConnection(role: .client, certificate: clientCert, remoteFingerprint: serverCert.fingerprint)
        _ = client.start()
        let first = try XCTUnwrap(client.nextTimeout)
        XCTAssertLessThanOrEqual(first, .milliseconds(400))
        XCTAssertGreaterThan(first, .milliseconds(300))
        try await Task.sleep(for: first + .milliseconds(20))
        XCTAssertFalse(client.handleTimeout().isEmpty, "the flight is sent again")
        let second = try XCTUnwrap(client.nextTimeout)
        XCTAssertLessThanOrEqual(second, .milliseconds(800))
        XCTAssertGreaterThan(second, .milliseconds(600))
    }

    /// The doubling stops at 3 s: on a lossy link (20 % of datagrams) an unlucky flight must
    /// not spend a join's 15 s deadline in two waits of 3.2 and 6.4 s.
    func testTheFlightTimerBacksOffToThreeSecondsAndStaysThere() {
        var timeouts: [Duration] = []
        var last: Duration?
        for _ in 0..<8 {
            let next = DTLSConnection.flightTimeout(after: last)
            timeouts.append(next)
            last = next
        }
        XCTAssertEqual(timeouts, [.milliseconds(400), .milliseconds(800), .milliseconds(1600), .seconds(3),
                                  .seconds(3), .seconds(3), .seconds(3), .seconds(3)])
    }
}
