import XCTest
@testable import Pipeline
import TrackModel

/// Edge queues are bounded in bytes as well as frames: a few frames of a megabyte each fill
/// them, so a file of large frames cannot make a pipeline hold gigabytes.
final class BatchQueueBytesTests: XCTestCase {
    func batch(frames: Int, bytes: Int) -> Batch {
        Batch(frames: (0..<frames).map { _ in
            Frame(track: TrackInfo(identity: "a", name: "b"), payload: [UInt8](repeating: 0, count: bytes), userTimestamp: nil, receiveTimeNs: 0)
        })
    }

    func testDropNewestCountsBytesNotOnlyFrames() async throws {
        let q = BatchQueue(capacity: 4096, policy: .dropNewest, producers: 1, capacityBytes: 1 << 20)
        for _ in 0..<8 { try await q.push(batch(frames: 1, bytes: 512 << 10)) }
        // Two batches reach 1 MiB; the other six are dropped although 2 frames ≪ 4096.
        XCTAssertEqual(q.droppedFrames, 6)
    }

    func testDropOldestKeepsWithinBytes() async throws {
        let q = BatchQueue(capacity: 4096, policy: .dropOldest, producers: 1, capacityBytes: 1 << 20)
        for _ in 0..<8 { try await q.push(batch(frames: 1, bytes: 512 << 10)) }
        XCTAssertEqual(q.droppedFrames, 6)
    }

    func testOneBatchLargerThanTheByteCapacityStillPasses() async throws {
        let q = BatchQueue(capacity: 4096, policy: .block, producers: 1, capacityBytes: 1 << 20)
        try await q.push(batch(frames: 4, bytes: 1 << 20))
        q.close()
        let got = await q.next()
        XCTAssertEqual(got?.frames.count, 4)
    }
}
