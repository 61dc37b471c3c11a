import XCTest
@testable import WebRTCData

final class SCTPSackCoalescingTests: XCTestCase {
    /// Common header (RFC 4960 §3.1): ports 5000 → 5000, verification tag, checksum (not checked here).
    private static let header: [UInt8] = [0x13, 0x88, 0x13, 0x88, 0xDE, 0xAD, 0xBE, 0xEF, 0, 0, 0, 0]

    /// SACK (RFC 4960 §3.3.4): type 3, flags 0, length 16, cumulative TSN ack, a_rwnd,
    /// 0 gap blocks, 0 duplicate TSNs.
    private static func sack(_ cumulative: UInt8) -> [UInt8] {
        [0x03, 0x00, 0x00, 0x10, 0, 0, 0, cumulative, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]
    }

    /// DATA (RFC 4960 §3.3.1): type 0, flags B|E, length 17, TSN, stream 2, SSN 0, PPID 53,
    /// one byte of user data, padded to 4.
    private static func data(_ tsn: UInt8) -> [UInt8] {
        [0x00, 0x03, 0x00, 0x11, 0, 0, 0, tsn, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x35, 0xAB, 0, 0, 0]
    }

    /// HEARTBEAT (RFC 4960 §3.3.5): type 4, length 8, one 4-byte parameter header (info, empty).
    private static let heartbeat: [UInt8] = [0x04, 0x00, 0x00, 0x08, 0x00, 0x01, 0x00, 0x04]

    private static func packet(_ chunks: [UInt8]...) -> [UInt8] { header + chunks.joined() }

    func testOnlyTheNewestSackOfABatchIsKept() {
        let table: [(name: String, packets: [[UInt8]], kept: [Int])] = [
            ("nothing", [], []),
            ("one SACK", [Self.packet(Self.sack(1))], [0]),
            ("three SACKs: the last", [Self.packet(Self.sack(1)), Self.packet(Self.sack(2)), Self.packet(Self.sack(3))], [2]),
            ("a SACK bundled with DATA supersedes an earlier SACK and is kept",
             [Self.packet(Self.sack(1)), Self.packet(Self.sack(2), Self.data(9))], [1]),
            ("a SACK-only packet after a bundled one is the newest: both stay",
             [Self.packet(Self.sack(1), Self.data(9)), Self.packet(Self.sack(2))], [0, 1]),
            ("DATA and heartbeats keep their place",
             [Self.packet(Self.data(1)), Self.packet(Self.sack(1)), Self.packet(Self.heartbeat),
              Self.packet(Self.data(2)), Self.packet(Self.sack(2))], [0, 2, 3, 4]),
            ("a SACK before only non-SACK packets stays",
             [Self.packet(Self.sack(1)), Self.packet(Self.data(1)), Self.packet(Self.heartbeat)], [0, 1, 2]),
            ("a packet whose chunk length overruns it is kept as it is",
             [Self.packet([0x03, 0x00, 0x00, 0x40] + Self.sack(1).dropFirst(4)), Self.packet(Self.sack(2))], [0, 1]),
            ("a SACK beside another chunk is not SACK-only",
             [Self.packet(Self.sack(1), Self.heartbeat), Self.packet(Self.sack(2))], [0, 1]),
        ]
        for row in table {
            XCTAssertEqual(SCTPSackCoalescing.coalesce(row.packets), row.kept.map { row.packets[$0] }, row.name)
        }
    }

    func testEveryTruncationIsKeptUnchanged() {
        // A cut packet never supersedes anything and is never dropped for being a SACK it is not.
        let full = Self.packet(Self.sack(7))
        let later = Self.packet(Self.data(1))
        for length in 0 ..< full.count {
            let cut = Array(full.prefix(length))
            XCTAssertEqual(SCTPSackCoalescing.coalesce([cut, later]), [cut, later], "prefix \(length)")
        }
    }
}
