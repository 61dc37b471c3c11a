import XCTest
import Codecs
import TrackModel
@testable import Pipeline

/// `Batch.updateFrames`, the in-place keep-and-change that transforms run on the batch they
/// took over, and `payloadBytes`.
final class BatchUpdateFramesTests: XCTestCase {
    private func batch(_ count: Int) -> Batch {
        Batch(frames: (0..<count).map {
            Frame(track: TrackInfo(identity: "a", name: "t\($0 % 3)"), payload: [UInt8](repeating: UInt8($0), count: $0),
                  userTimestamp: UInt64($0), receiveTimeNs: Int64($0), sequence: UInt64($0))
        }, events: [SessionEvent(timeNs: 1, kind: .drop, identity: "a", track: "t0", count: 2, detail: "kept as it is")])
    }

    func testKeepsChosenFramesInOrderWithTheirChangesAndLeavesEventsAlone() {
        var b = batch(10)
        b.updateFrames { frame in
            frame.value = .int(Int64(frame.sequence) * 10)
            return frame.sequence % 3 != 1
        }
        XCTAssertEqual(b.frames.map(\.sequence), [0, 2, 3, 5, 6, 8, 9])
        XCTAssertEqual(b.frames.map(\.value), [0, 2, 3, 5, 6, 8, 9].map { Value.int(Int64($0) * 10) })
        XCTAssertEqual(b.frames.map(\.payload.count), [0, 2, 3, 5, 6, 8, 9])
        XCTAssertEqual(b.frames.map(\.userTimestamp), [0, 2, 3, 5, 6, 8, 9].map { UInt64($0) })
        XCTAssertEqual(b.events.count, 1)
    }

    func testKeepingAllOrNoneAndAnEmptyBatch() {
        var all = batch(5)
        all.updateFrames { _ in true }
        XCTAssertEqual(all.frames, batch(5).frames)
        var none = batch(5)
        none.updateFrames { _ in false }
        XCTAssertTrue(none.frames.isEmpty)
        var empty = Batch()
        empty.updateFrames { _ in XCTFail("no frame to visit"); return true }
        XCTAssertTrue(empty.isEmpty)
    }

    /// A batch whose frames another holder shares (one source feeding two stages) is copied on
    /// write: the other holder's frames stay as they were.
    func testASharedBatchIsNotChangedUnderItsOtherHolder() {
        let original = batch(6)
        var mine = original
        mine.updateFrames { frame in
            frame.payload = [0xFF]
            return frame.sequence.isMultiple(of: 2)
        }
        XCTAssertEqual(mine.frames.map(\.sequence), [0, 2, 4])
        XCTAssertEqual(mine.frames.map(\.payload), [[0xFF], [0xFF], [0xFF]])
        XCTAssertEqual(original.frames, batch(6).frames)
    }

    func testPayloadBytesSumsEveryFramesPayload() {
        XCTAssertEqual(batch(10).payloadBytes, (0..<10).reduce(0, +))
        XCTAssertEqual(Batch().payloadBytes, 0)
    }
}
