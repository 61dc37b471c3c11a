import XCTest
@testable import RoomServer

/// The per-participant signal queue: coalescing of "latest value" responses, the limits, and
/// the last message after finishing.
final class SignalOutboxTests: XCTestCase {
    private func drain(_ outbox: SignalOutbox) async -> [[UInt8]] {
        outbox.finish()
        var out: [[UInt8]] = []
        while let bytes = await outbox.next() { out.append(bytes) }
        return out
    }

    func testANewerUpdateReplacesTheUnsentOneAndGoesLast() async {
        let outbox = SignalOutbox()
        XCTAssertEqual(outbox.send([1], key: .participant("PA_a")), .queued)
        XCTAssertEqual(outbox.send([2]), .queued)
        XCTAssertEqual(outbox.send([3], key: .participant("PA_b")), .queued)
        XCTAssertEqual(outbox.send([4], key: .participant("PA_a")), .replaced)
        XCTAssertEqual(outbox.send([5], key: .subscriberHandles), .queued)
        XCTAssertEqual(outbox.send([6], key: .subscriberHandles), .replaced)
        XCTAssertEqual(outbox.counters.coalesced, 2)
        // [1] is gone; [4] comes after [2] and [3], which were queued before it.
        let sent = await drain(outbox)
        XCTAssertEqual(sent, [[2], [3], [4], [6]])
    }

    func testAThousandUpdatesToASlowReaderLeaveOneAndTheLatest() async {
        let outbox = SignalOutbox()
        for version in 0..<1000 {
            outbox.send(Array(repeating: UInt8(version % 256), count: 100), key: .participant("PA_pub"))
        }
        XCTAssertEqual(outbox.counters.messages, 1)
        XCTAssertEqual(outbox.counters.bytes, 100)
        let sent = await drain(outbox)
        XCTAssertEqual(sent, [Array(repeating: UInt8(999 % 256), count: 100)])
    }

    func testReadingInterleavedWithReplacingKeepsOrder() async {
        let outbox = SignalOutbox()
        var sent: [[UInt8]] = []
        for round in 0..<300 {
            outbox.send([UInt8(round % 256), 0], key: .participant("PA_x"))
            outbox.send([UInt8(round % 256), 1])
            outbox.send([UInt8(round % 256), 2], key: .participant("PA_x"))
            if let bytes = await outbox.next() { sent.append(bytes) }
        }
        sent += await drain(outbox)
        // Every unkeyed response, in order; of the keyed ones only those read before a newer came.
        XCTAssertEqual(sent.filter { $0[1] == 1 }.map { $0[0] }, (0..<300).map { UInt8($0 % 256) })
        XCTAssertEqual(sent.last, [UInt8(299 % 256), 2])
        XCTAssertFalse(sent.contains { $0[1] == 0 }, "each keyed update was replaced before it could be read")
    }

    func testUnreadRequestAnswersOverflowAtTheMessageLimit() async {
        let outbox = SignalOutbox(limits: .init(messages: 3, bytes: 1 << 20))
        var overflows = outbox.overflowed.makeAsyncIterator()
        for i in 0..<3 { XCTAssertEqual(outbox.send([UInt8(i)]), .queued) }
        // Keyed updates do not count against the message limit (at most one per participant).
        XCTAssertEqual(outbox.send([9], key: .participant("PA_a")), .queued)
        XCTAssertEqual(outbox.send([3]), .overflowed)
        XCTAssertEqual(outbox.send([4]), .dropped)
        let overflow = await overflows.next()
        XCTAssertEqual(overflow?.messages, 5)
        XCTAssertTrue(overflow?.description.contains("signal queue full") == true)
        let end = await overflows.next()
        XCTAssertNil(end, "reported once")
        // Nothing more is written: the connection is to be closed.
        let next = await outbox.next()
        XCTAssertNil(next)
        XCTAssertEqual(outbox.counters.bytes, 0, "what was queued is released")
    }

    func testTheByteLimitCountsEveryResponse() {
        let outbox = SignalOutbox(limits: .init(messages: 200, bytes: 1000))
        XCTAssertEqual(outbox.send(Array(repeating: 0, count: 600), key: .participant("PA_a")), .queued)
        // Replacing frees the old bytes first.
        XCTAssertEqual(outbox.send(Array(repeating: 1, count: 600), key: .participant("PA_a")), .replaced)
        XCTAssertEqual(outbox.send(Array(repeating: 2, count: 401)), .overflowed)
    }

    func testTheLastMessageGoesOutPastTheLimitsThenTheOutboxEnds() async {
        let outbox = SignalOutbox(limits: .init(messages: 1, bytes: 10))
        outbox.send([1])
        outbox.finish(last: Array(repeating: 7, count: 50))
        XCTAssertEqual(outbox.send([2]), .dropped)
        var sent: [[UInt8]] = []
        while let bytes = await outbox.next() { sent.append(bytes) }
        XCTAssertEqual(sent, [[1], Array(repeating: 7, count: 50)])
    }

    func testAWaitingWriterGetsTheNextResponse() async {
        let outbox = SignalOutbox()
        let reader = Task { await outbox.next() }
        try? await Task.sleep(for: .milliseconds(20))
        outbox.send([42], key: .subscriberHandles)
        let got = await reader.value
        XCTAssertEqual(got, [42])
        let ended = Task { await outbox.next() }
        try? await Task.sleep(for: .milliseconds(20))
        outbox.finish()
        let end = await ended.value
        XCTAssertNil(end)
    }

    func testRequestsWaitForTheirAnswersAndAStalledReaderFails() async {
        let outbox = SignalOutbox(limits: .init(messages: 200, bytes: 1 << 20, pendingRequests: 3, stall: .seconds(10)))
        let start = ContinuousClock.now
        for i in 0..<2 { outbox.send([UInt8(i)]) }
        var ready = await outbox.waitForRoom(now: { start })
        XCTAssertTrue(ready, "2 answers pending, below 3")
        outbox.send([2])
        // Keyed updates are not answers to requests: they never hold the reader back.
        outbox.send([9], key: .participant("PA_a"))
        // At 3 the next request waits; once the writer takes one it may be read.
        let waiting = Task { await outbox.waitForRoom(now: { start + .seconds(5) }) }
        try? await Task.sleep(for: .milliseconds(60))
        _ = await outbox.next()
        ready = await waiting.value
        XCTAssertTrue(ready)
        outbox.send([3])
        // The writer takes nothing for the stall time: the client stopped reading.
        var overflows = outbox.overflowed.makeAsyncIterator()
        let stalled = await outbox.waitForRoom(now: { .now + .seconds(11) })
        XCTAssertFalse(stalled)
        let overflow = await overflows.next()
        XCTAssertEqual(overflow?.cause, .stalled)
        XCTAssertTrue(overflow?.description.contains("stopped reading") == true, overflow?.description ?? "")
        XCTAssertEqual(outbox.send([4]), .dropped)
    }
}
