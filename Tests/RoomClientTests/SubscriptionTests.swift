import DataTracks
import LiveKitProtocol
@testable import RoomClient
import XCTest

/// Handle maps, subscription fan-out and its buffers, the publisher queue.
final class SubscriptionTests: XCTestCase {
    private func snapshot(_ entries: [UInt32: (String, String)]) -> Livekit_DataTrackSubscriberHandles {
        var message = Livekit_DataTrackSubscriberHandles()
        for (handle, (identity, sid)) in entries {
            var track = Livekit_DataTrackSubscriberHandles.PublishedDataTrack()
            track.publisherIdentity = identity
            track.publisherSid = "PA_" + identity
            track.trackSid = sid
            message.subHandles[handle] = track
        }
        return message
    }

    func testSnapshotsReplaceTheMap() {
        var map = SubscriberHandleMap()
        XCTAssertEqual(map.apply(snapshot([7: ("pub1", "DTR_a")])), [])
        XCTAssertEqual(map[7]?.trackSid, "DTR_a")
        XCTAssertEqual(map[7]?.publisherIdentity, "pub1")
        // Handle 7 now names another track, 8 is new.
        XCTAssertEqual(map.apply(snapshot([7: ("pub1", "DTR_b"), 8: ("pub2", "DTR_c")])), [7])
        // A full snapshot without 7: gone.
        XCTAssertEqual(map.apply(snapshot([8: ("pub2", "DTR_c")])), [7])
        XCTAssertNil(map[7])
        XCTAssertEqual(map[8]?.trackSid, "DTR_c")
        // Out-of-range handles are skipped and counted, not trapped on.
        map.apply(snapshot([0: ("x", "DTR_0"), 70000: ("x", "DTR_1")]))
        XCTAssertEqual(map.invalidHandles, 2)
        XCTAssertTrue(map.entries.isEmpty)
    }

    func testEverySubscriptionGetsEveryFrameAndNewOnesOnlyLaterFrames() async {
        var fanout = SubscriptionFanout()
        let (_, first) = fanout.add(bufferSize: 16) { _ in }
        fanout.deliver(DataTrackFrame(payload: [1], userTimestamp: 10))
        let (_, second) = fanout.add(bufferSize: 16) { _ in }
        fanout.deliver(DataTrackFrame(payload: [2], userTimestamp: nil))
        fanout.finishAll()
        var a: [DataTrackFrame] = []
        for await frame in first { a.append(frame) }
        var b: [DataTrackFrame] = []
        for await frame in second { b.append(frame) }
        XCTAssertEqual(a, [DataTrackFrame(payload: [1], userTimestamp: 10), DataTrackFrame(payload: [2])])
        XCTAssertEqual(b, [DataTrackFrame(payload: [2])])
        XCTAssertTrue(fanout.isEmpty)
    }

    func testFullBufferDropsNewFramesAndCountsThem() async {
        var fanout = SubscriptionFanout()
        let (_, slow) = fanout.add(bufferSize: 4) { _ in }
        let (_, roomy) = fanout.add(bufferSize: 16) { _ in }
        var drops = 0
        for index in 0..<10 { drops += fanout.deliver(DataTrackFrame(payload: [UInt8(index)])) }
        XCTAssertEqual(drops, 6)
        XCTAssertEqual(slow.droppedFrames, 6)
        XCTAssertEqual(slow.receivedFrames, 4)
        XCTAssertEqual(roomy.droppedFrames, 0)
        fanout.finishAll()
        var kept: [UInt8] = []
        for await frame in slow { kept.append(contentsOf: frame.payload) }
        XCTAssertEqual(kept, [0, 1, 2, 3], "the oldest frames stay, the new ones are dropped")
        var all = 0
        for await _ in roomy { all += 1 }
        XCTAssertEqual(all, 10)
    }

    func testRemovedSubscriptionEndsAndOthersContinue() async {
        var fanout = SubscriptionFanout()
        let (firstID, first) = fanout.add(bufferSize: 16) { _ in }
        let (_, second) = fanout.add(bufferSize: 16) { _ in }
        fanout.remove(firstID)
        fanout.deliver(DataTrackFrame(payload: [9]))
        XCTAssertEqual(fanout.count, 1)
        var firstFrames = 0
        for await _ in first { firstFrames += 1 }
        XCTAssertEqual(firstFrames, 0)
        fanout.finishAll()
        var secondFrames = 0
        for await _ in second { secondFrames += 1 }
        XCTAssertEqual(secondFrames, 1)
    }

    func testConsumerThatStopsIsReported() async throws {
        var fanout = SubscriptionFanout()
        let ended = expectation(description: "termination reported")
        var subscription: DataTrackSubscription? = fanout.add(bufferSize: 2) { _ in ended.fulfill() }.1
        XCTAssertNotNil(subscription)
        subscription = nil
        await fulfillment(of: [ended], timeout: 5)
    }

    func testPublisherQueueHolds16ThenDropsThenUnpublished() throws {
        let (track, queue) = LocalDataTrack.make(handle: 1, name: "imu", room: Room())
        for index in 0..<LocalDataTrack.queueCapacity {
            XCTAssertNoThrow(try track.tryPush(DataTrackFrame(payload: [UInt8(index)])))
        }
        XCTAssertThrowsError(try track.tryPush(DataTrackFrame(payload: [99]))) { error in
            XCTAssertEqual(error as? RoomClientError, .dropped)
        }
        XCTAssertEqual(track.pushedFrames, 16)
        XCTAssertEqual(track.droppedFrames, 1)
        track.close()
        XCTAssertThrowsError(try track.tryPush(DataTrackFrame(payload: [1]))) { error in
            XCTAssertEqual(error as? RoomClientError, .unpublished)
        }
        _ = queue
    }
}
