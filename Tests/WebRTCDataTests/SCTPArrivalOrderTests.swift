import XCTest
@testable import WebRTCData

/// `SCTPArrivalOrder` byte by byte: packets built by hand (common header, chunks), time passed in.
final class SCTPArrivalOrderTests: XCTestCase {
    private let t0 = ContinuousClock.now

    /// A packet with one DATA chunk per TSN (unordered, B and E set, 4 payload bytes).
    private func data(_ tsns: UInt32...) -> [UInt8] {
        var packet = [UInt8](repeating: 0, count: 12)
        for tsn in tsns {
            packet += [0, 0x07, 0, 20] + be(tsn) + [0, 1, 0, 0, 0, 0, 0, 53] + [1, 2, 3, 4]
        }
        return packet
    }

    private func forwardTSN(_ cumulative: UInt32) -> [UInt8] {
        [UInt8](repeating: 0, count: 12) + [192, 0, 0, 8] + be(cumulative)
    }

    private func sack(_ cumulative: UInt32) -> [UInt8] {
        [UInt8](repeating: 0, count: 12) + [3, 0, 0, 16] + be(cumulative) + [0, 1, 0, 0, 0, 0, 0, 0]
    }

    private func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    private func at(_ ms: Int) -> ContinuousClock.Instant { t0 + .milliseconds(ms) }

    func testInOrderPacketsPassAtOnce() {
        var order = SCTPArrivalOrder()
        for tsn in UInt32(100) ..< 110 {
            XCTAssertEqual(order.push(data(tsn), now: at(0)), [data(tsn)])
        }
        XCTAssertEqual(order.push(data(110, 111, 112), now: at(0)), [data(110, 111, 112)])
        XCTAssertEqual(order.nextExpected, 113)
        XCTAssertNil(order.nextDeadline)
        XCTAssertEqual(order.packetsHeld, 0)
    }

    func testAPacketAfterAGapWaitsUntilTheGapFills() {
        var order = SCTPArrivalOrder()
        _ = order.push(data(1), now: at(0))
        XCTAssertEqual(order.push(data(4), now: at(1)), [])
        XCTAssertEqual(order.push(data(3), now: at(2)), [])
        // Control chunks never wait.
        XCTAssertEqual(order.push(sack(77), now: at(3)), [sack(77)])
        // TSN 2 arrives: it and everything held go, in TSN order.
        XCTAssertEqual(order.push(data(2), now: at(4)), [data(2), data(3), data(4)])
        XCTAssertEqual(order.nextExpected, 5)
        XCTAssertEqual(order.packetsHeld, 2)
        // A late duplicate below what passed goes straight on (usrsctp reports it as duplicate).
        XCTAssertEqual(order.push(data(2), now: at(5)), [data(2)])
    }

    func testAGapThatNeverFillsIsGivenUpAfterMaxHold() {
        var order = SCTPArrivalOrder()
        _ = order.push(data(10), now: at(0))
        XCTAssertEqual(order.push(data(13), now: at(5)), [])
        XCTAssertEqual(order.push(data(12), now: at(20)), [])
        XCTAssertEqual(order.nextDeadline, at(5) + SCTPArrivalOrder.maxHold)
        XCTAssertEqual(order.release(now: at(5) + SCTPArrivalOrder.maxHold - .milliseconds(1)), [])
        XCTAssertEqual(order.release(now: at(5) + SCTPArrivalOrder.maxHold), [data(12), data(13)])
        XCTAssertEqual(order.releasedByTimeout, 1)
        XCTAssertEqual(order.nextExpected, 14)
        XCTAssertNil(order.nextDeadline)
        // TSN 11 comes after all: below what passed, on at once.
        XCTAssertEqual(order.push(data(11), now: at(200)), [data(11)])
    }

    func testForwardTSNSkipsTheGapAndReleasesWhatFollows() {
        var order = SCTPArrivalOrder()
        _ = order.push(data(50), now: at(0))
        XCTAssertEqual(order.push(data(54), now: at(1)), [])
        // 51…53 abandoned by the sender (RFC 3758): the FORWARD TSN first, then 54.
        // The FORWARD TSN moves the expectation past the gap: it goes on, then 54, now next.
        XCTAssertEqual(order.push(forwardTSN(53), now: at(2)), [forwardTSN(53), data(54)])
        XCTAssertEqual(order.nextExpected, 55)
    }

    func testHoldingIsBoundedInPackets() {
        var order = SCTPArrivalOrder()
        _ = order.push(data(0), now: at(0))
        var released: [[UInt8]] = []
        for tsn in UInt32(2) ... UInt32(SCTPArrivalOrder.maxHeldPackets + 2) {
            released += order.push(data(tsn), now: at(1))
        }
        XCTAssertEqual(released.count, SCTPArrivalOrder.maxHeldPackets + 1)
        XCTAssertEqual(order.heldCount, 0)
    }

    func testSerialArithmeticAcrossTheWrap() {
        var order = SCTPArrivalOrder()
        _ = order.push(data(0xFFFF_FFFE), now: at(0))
        XCTAssertEqual(order.push(data(1), now: at(1)), [])
        XCTAssertEqual(order.push(data(0xFFFF_FFFF, 0), now: at(2)), [data(0xFFFF_FFFF, 0), data(1)])
        XCTAssertEqual(order.nextExpected, 2)
    }

    func testANewAssociationResetsTheExpectation() {
        var order = SCTPArrivalOrder()
        _ = order.push(data(500), now: at(0))
        let initChunk = [UInt8](repeating: 0, count: 12) + [1, 0, 0, 20] + [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(order.push(initChunk, now: at(1)), [initChunk])
        XCTAssertNil(order.nextExpected)
        XCTAssertEqual(order.push(data(7), now: at(2)), [data(7)])
    }
}
