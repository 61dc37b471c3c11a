import Foundation
import WebRTCData
import XCTest
@testable import RoomServer

/// `serve --advertise-address`: the server binds one address and names another in its ICE
/// candidates (a relay, a port forward or a 1:1 NAT in front of it).
final class AdvertisedAddressTests: XCTestCase {
    private let loopback = TransportAddress(ip: IPAddress("127.0.0.1")!, port: 0)

    private func answerCandidates(advertise: [(ip: IPAddress, port: UInt16?)]) async throws -> (lines: [String], bound: TransportAddress) {
        let factory = try PeerConnectionFactory(addresses: [IPAddress("127.0.0.1")!], port: 0, advertise: advertise)
        defer { factory.close() }
        let client = try PeerConnection(PeerConnection.Configuration(addresses: [loopback]))
        _ = try await client.createDataChannel("_reliable")
        let offer = try await client.createOffer()
        let (connection, answer) = try await factory.answer(offer)
        await connection.close()
        await client.close()
        let lines = answer.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("a=candidate:") }.map(String.init)
        return (lines, factory.boundAddresses[0])
    }

    func testTheCandidateNamesTheAdvertisedAddressWithTheBoundPort() async throws {
        let (lines, bound) = try await answerCandidates(advertise: [(IPAddress("127.0.0.2")!, nil)])
        XCTAssertEqual(lines.count, 1, "\(lines)")
        XCTAssertTrue(lines[0].contains(" 127.0.0.2 \(bound.port) typ host"), lines[0])
        XCTAssertFalse(lines[0].contains("127.0.0.1"), lines[0])
    }

    func testAnAdvertisedPortReplacesTheBoundOne() async throws {
        let (lines, _) = try await answerCandidates(advertise: [(IPAddress("10.99.0.2")!, 40_000)])
        XCTAssertEqual(lines.count, 1, "\(lines)")
        XCTAssertTrue(lines[0].contains(" 10.99.0.2 40000 typ host"), lines[0])
    }

    func testWithoutAdvertisingTheBoundAddressIsNamed() async throws {
        let (lines, bound) = try await answerCandidates(advertise: [])
        XCTAssertTrue(lines[0].contains(" 127.0.0.1 \(bound.port) typ host"), lines[0])
    }

    func testAdvertisedAddressesParseAndBadOnesAreNamed() throws {
        let plain = try RoomServer.Configuration.parseAdvertised("10.0.0.5")
        XCTAssertEqual(plain.ip, IPAddress("10.0.0.5")); XCTAssertNil(plain.port)
        let withPort = try RoomServer.Configuration.parseAdvertised("10.0.0.5:7882")
        XCTAssertEqual(withPort.port, 7882)
        let v6 = try RoomServer.Configuration.parseAdvertised("[::1]:9")
        XCTAssertEqual(v6.ip, IPAddress("::1")); XCTAssertEqual(v6.port, 9)
        for bad in ["relay.example", "10.0.0.5:", "10.0.0.5:70000", "10.0.0.5:0", ""] {
            XCTAssertThrowsError(try RoomServer.Configuration.parseAdvertised(bad), bad) { error in
                XCTAssertTrue("\(error)".contains("advertise address \(bad)"), "\(error)")
            }
        }
    }

    func testOneAdvertisedAddressPerNodeIPIsRequired() {
        // Without --node-ip the bound list is every interface: which one is advertised as what
        // would be a guess.
        XCTAssertThrowsError(try RoomServer(.init(rtcPort: 0, advertisedAddresses: ["10.0.0.5"]))) { error in
            XCTAssertTrue("\(error)".contains("give one per node IP"), "\(error)")
        }
        XCTAssertThrowsError(try RoomServer(.init(rtcPort: 0, nodeIPs: ["127.0.0.1"], advertisedAddresses: ["10.0.0.5", "10.0.0.6"]))) { error in
            XCTAssertTrue("\(error)".contains("2 advertise address(es) for 1 node IP(s)"), "\(error)")
        }
    }

    func testTheServerReportsBoundAndAdvertisedAddresses() throws {
        let server = try RoomServer(.init(rtcPort: 0, nodeIPs: ["127.0.0.1"], advertisedAddresses: ["127.0.0.3"]))
        XCTAssertEqual(server.rtcAddresses.count, 1)
        let port = try XCTUnwrap(server.rtcAddresses[0].split(separator: ":").last)
        XCTAssertEqual(server.advertisedRTCAddresses, ["127.0.0.3:\(port)"])
    }
}
