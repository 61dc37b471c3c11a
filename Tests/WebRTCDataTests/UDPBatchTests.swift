import Foundation
import Synchronization
import XCTest
import TestSupport
@testable import WebRTCData

/// Batched UDP I/O over real sockets on 127.0.0.1: `UDPReceiveLoop` (recvmmsg into a slab on
/// Linux) and `UDPSocket.send(batch:to:)` (sendmmsg). Loopback delivers a datagram into the
/// receiver's queue within the sending call, so what one call sent is queued when it returns.
final class UDPBatchTests: XCTestCase {
    let loopback = TransportAddress(host: "127.0.0.1", port: 0)!

    /// Datagram `index` of a test batch: its size cycles through 0…1500 bytes so neighbours
    /// differ, its bytes name it (a swapped or cut datagram cannot compare equal).
    static func datagram(_ index: Int, tag: UInt8 = 0) -> [UInt8] {
        let size = (index * 373) % 1501
        return (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &+ Int(tag)) }
    }

    /// What a receive loop handed over, in order, and in how many batches.
    final class Collected: Sendable {
        private let state = Mutex<(datagrams: [ReceivedDatagram], batches: Int)>(([], 0))
        func add(_ batch: [ReceivedDatagram]) { state.withLock { $0.datagrams += batch; $0.batches += 1 } }
        var datagrams: [ReceivedDatagram] { state.withLock { $0.datagrams } }
        var batches: Int { state.withLock { $0.batches } }
    }

    func startLoop(_ sockets: [UDPSocket], slotSize: Int = UDPReceiveSlab.defaultSlotSize) throws -> (UDPReceiveLoop, Collected) {
        let collected = Collected()
        let loop = try UDPReceiveLoop(sockets: sockets, slotSize: slotSize) { batch in collected.add(batch) }
        loop.start()
        return (loop, collected)
    }

    func testBatchesOfDifferentSizesArriveWholeInOrderWithSourceAndDestination() async throws {
        let receiverA = try UDPSocket(binding: loopback)
        let receiverB = try UDPSocket(binding: loopback)
        let senderA = try UDPSocket(binding: loopback)
        let senderB = try UDPSocket(binding: loopback)
        // 150 each way: more than one sendmmsg (64) and more than one recvmmsg per socket.
        let toA = (0..<150).map { Self.datagram($0) }
        let toB = (0..<150).map { Self.datagram($0, tag: 7) }
        let sentA = senderA.send(batch: toA, to: receiverA.localAddress)
        let sentB = senderB.send(batch: toB, to: receiverB.localAddress)
        XCTAssertEqual(sentA.sent, 150)
        XCTAssertEqual(sentA.refused, 0)
        XCTAssertEqual(sentB.sent, 150)
        XCTAssertEqual(sentB.refused, 0)
        // Everything is queued before the loop starts, so its first wake-up finds all 300.
        let (loop, collected) = try startLoop([receiverA, receiverB])
        defer { loop.stop() }
        try await waitUntil(timeout: .seconds(5), "300 datagrams") { collected.datagrams.count >= 300 }

        let received = collected.datagrams
        XCTAssertEqual(received.count, 300)
        let atA = received.filter { $0.to == receiverA.localAddress }
        let atB = received.filter { $0.to == receiverB.localAddress }
        XCTAssertEqual(atA.map(\.bytes), toA, "arrival order and bytes at A")
        XCTAssertEqual(atB.map(\.bytes), toB, "arrival order and bytes at B")
        XCTAssertEqual(Set(atA.map(\.from)), [senderA.localAddress])
        XCTAssertEqual(Set(atB.map(\.from)), [senderB.localAddress])
        XCTAssertEqual(loop.truncatedDatagrams, 0)
        XCTAssertEqual(collected.batches, (300 + UDPReceiveLoop.maxBatch - 1) / UDPReceiveLoop.maxBatch,
                       "handed over in full batches of \(UDPReceiveLoop.maxBatch)")
    }

    func testDatagramLongerThanItsSlotIsCountedNotDelivered() async throws {
        let receiver = try UDPSocket(binding: loopback)
        let sender = try UDPSocket(binding: loopback)
        let slot = UDPReceiveSlab.defaultSlotSize
        let (loop, collected) = try startLoop([receiver])
        defer { loop.stop() }
        let exactlyOneSlot = [UInt8](repeating: 0xA5, count: slot)
        let batch: [[UInt8]] = [
            [1, 2, 3],
            [UInt8](repeating: 0xEE, count: slot + 1), // one byte too long: cut by the kernel
            exactlyOneSlot,
            [UInt8](repeating: 0xDD, count: 9000),
            [4, 5],
        ]
        XCTAssertEqual(sender.send(batch: batch, to: receiver.localAddress).sent, 5)
        try await waitUntil(timeout: .seconds(5), "3 datagrams and 2 drops") {
            collected.datagrams.count + loop.truncatedDatagrams >= 5
        }
        XCTAssertEqual(collected.datagrams.map(\.bytes), [[1, 2, 3], exactlyOneSlot, [4, 5]])
        XCTAssertEqual(loop.truncatedDatagrams, 2)
    }

    #if os(Linux)
    func testSlabReadsUpToItsSlotsPerCallThenTheRest() throws {
        let receiver = try UDPSocket(binding: loopback)
        let sender = try UDPSocket(binding: loopback)
        let batch = (0..<70).map { Self.datagram($0) }
        XCTAssertEqual(sender.send(batch: batch, to: receiver.localAddress).sent, 70)
        let slab = UDPReceiveSlab(slots: 64)
        XCTAssertEqual(slab.receive(from: receiver.fileDescriptor), 64)
        var read = (0..<64).map { Array(slab.bytes($0)) }
        XCTAssertEqual(slab.source(0), sender.localAddress)
        XCTAssertEqual(slab.receive(from: receiver.fileDescriptor), 6)
        read += (0..<6).map { Array(slab.bytes($0)) }
        XCTAssertEqual(slab.source(5), sender.localAddress)
        XCTAssertEqual(read, batch)
        XCTAssertFalse((0..<6).contains { slab.isTruncated($0) })
        XCTAssertEqual(slab.receive(from: receiver.fileDescriptor), 0, "queue empty: EAGAIN, not a block")
    }
    #endif

    func testSendBatchGoesOnPastADatagramTheKernelRefuses() async throws {
        let receiver = try UDPSocket(binding: loopback)
        let sender = try UDPSocket(binding: loopback)
        let (loop, collected) = try startLoop([receiver])
        defer { loop.stop() }
        // 70,000 bytes is over UDP's 65,507 (EMSGSIZE): sendmmsg takes the two before it and
        // stops; the rest must still go, in order, and the refusal be counted.
        let batch: [[UInt8]] = [[1], [2, 2], [UInt8](repeating: 9, count: 70_000), [3, 3, 3], [4]]
        let result = sender.send(batch: batch, to: receiver.localAddress)
        XCTAssertEqual(result.sent, 4)
        XCTAssertEqual(result.refused, 1)
        try await waitUntil(timeout: .seconds(5), "4 datagrams") { collected.datagrams.count >= 4 }
        XCTAssertEqual(collected.datagrams.map(\.bytes), [[1], [2, 2], [3, 3, 3], [4]])

        // And the socket is fine afterwards (no error left pending for the next send).
        XCTAssertEqual(sender.send(batch: [[5], [6]], to: receiver.localAddress).sent, 2)
        try await waitUntil(timeout: .seconds(5), "6 datagrams") { collected.datagrams.count >= 6 }
        XCTAssertEqual(collected.datagrams.suffix(2).map(\.bytes), [[5], [6]])
    }

    func testSendBatchToTheOtherAddressFamilyIsRefusedWhole() throws {
        let sender = try UDPSocket(binding: loopback)
        let result = sender.send(batch: [[1], [2]], to: TransportAddress(host: "::1", port: 9)!)
        XCTAssertEqual(result.sent, 0)
        XCTAssertEqual(result.refused, 2)
    }
}
