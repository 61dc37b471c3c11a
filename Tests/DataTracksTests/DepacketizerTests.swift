import Synthetic
import XCTest
@testable import DataTracks

final class DepacketizerTests: XCTestCase {
    typealias Frame = TestVectors.Frame

    static func run(_ packets: [[UInt8]], maxPartialFrames: Int = 1) throws -> ([DepacketizedFrame], Depacketizer) {
        var depacketizer = Depacketizer(maxPartialFrames: maxPartialFrames)
        var frames = [DepacketizedFrame]()
        for bytes in packets {
            if let frame = try depacketizer.push(encoded: bytes).frame { frames.append(frame) }
        }
        return (frames, depacketizer)
    }

    /// Every packet the server forwarded to the SDK subscriber, fed one by one, gives exactly
    /// the frames the SDK delivered (for e2ee: the ciphertext; FrameCryptorTests decrypts it).
    func testReplaysEveryCaptureToTheSDKFrames() throws {
        for capture in TestVectors.captures {
            let forwarded = try TestVectors.packets(capture, "server-to-subscriber.jsonl")
            let received = try TestVectors.frames(capture, "received-frames.jsonl")
            XCTAssertEqual(received, try TestVectors.frames(capture, "pushed-frames.jsonl"))
            let (frames, depacketizer) = try Self.run(forwarded)
            XCTAssertEqual(frames.count, received.count, capture)
            XCTAssertEqual(depacketizer.statistics.droppedFrames, 0)
            XCTAssertEqual(depacketizer.statistics.deliveredFrames, received.count)
            for (i, (ours, theirs)) in zip(frames, received).enumerated() {
                XCTAssertEqual(ours.frameNumber, UInt16(i))
                XCTAssertEqual(ours.userTimestamp, theirs.userTimestamp)
                if capture == "e2ee" {
                    XCTAssertNotNil(ours.e2ee)
                    XCTAssertEqual(ours.payload.count, theirs.payload.count + 16)
                } else {
                    XCTAssertNil(ours.e2ee)
                    XCTAssertEqual(ours.payload, theirs.payload, "\(capture) frame \(i)")
                }
            }
            // Multi-packet frames (frame 12 is 40,000 bytes in three packets).
            XCTAssertEqual(frames[12].packetCount, 3)
        }
    }

    func testDuplicatesAreIgnored() throws {
        let packets = try TestVectors.packets("plain", "server-to-subscriber.jsonl")
        let received = try TestVectors.frames("plain", "received-frames.jsonl")
        // Each packet twice in a row, then the packets of frames 10-19 again (the depacketizer
        // remembers the last 16 finished frames).
        let doubled = packets.flatMap { [$0, $0] } + packets[12...]
        let (frames, depacketizer) = try Self.run(doubled)
        XCTAssertEqual(frames.map { Frame(payload: $0.payload, userTimestamp: $0.userTimestamp) }, received)
        XCTAssertEqual(depacketizer.statistics.droppedFrames, 0)
        XCTAssertEqual(depacketizer.statistics.ignoredPackets, packets.count + 16)
    }

    /// Late stragglers of a finished frame never disturb the open one.
    func testLateStragglerDoesNotDisturbTheOpenFrame() throws {
        let packets = try TestVectors.packets("plain", "server-to-subscriber.jsonl")
        // Packets 16,17,18 are frame 12 (3 packets); 14,15 are frame 11. Replay 15 (frame 11's
        // final) and 14 (its start) in the middle of frame 12.
        var order = Array(packets[0...17])
        order.append(packets[15])
        order.append(packets[14])
        order += packets[18...]
        let (frames, depacketizer) = try Self.run(order)
        XCTAssertEqual(frames.count, 20)
        XCTAssertEqual(depacketizer.statistics.ignoredPackets, 2)
    }

    func testMissingPacketsDropTheWholeFrame() throws {
        let packets = try TestVectors.packets("plain", "server-to-subscriber.jsonl")
        let received = try TestVectors.frames("plain", "received-frames.jsonl")
        // Frame 12 = packets 16 (start), 17 (middle), 18 (final).
        for (missing, reason) in [(17, Depacketizer.DropReason.incomplete), (16, .missingStart), (18, .interrupted)] {
            var order = packets
            order.remove(at: missing)
            let (frames, depacketizer) = try Self.run(order)
            XCTAssertEqual(frames.map(\.frameNumber), (0..<20).filter { $0 != 12 }.map(UInt16.init), "missing \(missing)")
            XCTAssertEqual(frames.map { Frame(payload: $0.payload, userTimestamp: $0.userTimestamp) },
                           received.enumerated().filter { $0.offset != 12 }.map(\.element))
            XCTAssertEqual(depacketizer.statistics.droppedFrames, 1)
            XCTAssertEqual(depacketizer.statistics[reason], 1, "missing \(missing)")
        }
    }

    func testReorderWithinAFrameStillDelivers() throws {
        let packets = try TestVectors.packets("plain", "server-to-subscriber.jsonl")
        var order = packets
        order.swapAt(17, 18)  // final before the middle packet
        let (frames, depacketizer) = try Self.run(order)
        XCTAssertEqual(frames.count, 20)
        XCTAssertEqual(frames[12].payload, try TestVectors.frames("plain", "received-frames.jsonl")[12].payload)
        XCTAssertEqual(depacketizer.statistics.droppedFrames, 0)
    }

    /// Shuffled, duplicated and missing packets: whatever is delivered is exactly the frame that
    /// was pushed, no frame twice, and each frame is delivered or counted dropped at most once.
    func testRandomDisorderNeverDeliversAWrongFrame() throws {
        for capture in ["plain", "dual-pc", "e2ee"] {
            let packets = try TestVectors.packets(capture, "server-to-subscriber.jsonl")
            let (reference, _) = try Self.run(packets)
            var rng = SplitMix64(seed: 42)
            for round in 0..<300 {
                var order = packets
                for _ in 0..<Int.random(in: 0...6, using: &rng) {  // local reorders
                    let i = Int.random(in: 0..<(order.count - 1), using: &rng)
                    order.swapAt(i, min(order.count - 1, i + Int.random(in: 1...3, using: &rng)))
                }
                for _ in 0..<Int.random(in: 0...3, using: &rng) {  // duplicates
                    let i = Int.random(in: 0..<order.count, using: &rng)
                    order.insert(order[i], at: min(order.count, i + Int.random(in: 0...2, using: &rng)))
                }
                for _ in 0..<Int.random(in: 0...2, using: &rng) {  // losses
                    order.remove(at: Int.random(in: 0..<order.count, using: &rng))
                }
                let maxPartial = round % 2 == 0 ? 1 : 3
                var depacketizer = Depacketizer(maxPartialFrames: maxPartial)
                var seen = Set<UInt16>()
                for bytes in order {
                    let output = try depacketizer.push(encoded: bytes)
                    for drop in output.drops {
                        XCTAssertTrue(seen.insert(drop.frameNumber).inserted, "\(capture) round \(round): frame \(drop.frameNumber) twice")
                    }
                    if let frame = output.frame {
                        XCTAssertTrue(seen.insert(frame.frameNumber).inserted, "\(capture) round \(round): frame \(frame.frameNumber) twice")
                        XCTAssertEqual(frame, reference[Int(frame.frameNumber)], "\(capture) round \(round)")
                    }
                }
                let stats = depacketizer.statistics
                XCTAssertLessThanOrEqual(stats.deliveredFrames + stats.droppedFrames, reference.count)
            }
        }
    }

    static func packet(_ marker: DataTrackPacket.FrameMarker, seq: UInt16, frame: UInt16, ts: UInt32 = 1000,
                       _ payload: [UInt8]) -> DataTrackPacket {
        DataTrackPacket(header: .init(marker: marker, handle: 1, sequence: seq, frameNumber: frame, timestamp: ts),
                        payload: payload[...])
    }

    func testInterruptedByANewFrame() {
        var d = Depacketizer()
        XCTAssertNil(d.push(Self.packet(.start, seq: 10, frame: 1, [1])).frame)
        let out = d.push(Self.packet(.start, seq: 12, frame: 2, [2]))
        XCTAssertEqual(out.drops, [.init(frameNumber: 1, reason: .interrupted)])
        XCTAssertEqual(d.push(Self.packet(.final, seq: 13, frame: 2, [3])).frame?.payload, [2, 3])
        // Frame 1's final comes late: ignored, not counted again.
        let late = d.push(Self.packet(.final, seq: 11, frame: 1, [9]))
        XCTAssertNil(late.frame)
        XCTAssertEqual(late.drops, [])
        // A single packet also ends an open partial (one partial frame at a time).
        _ = d.push(Self.packet(.start, seq: 14, frame: 3, [4]))
        let single = d.push(Self.packet(.single, seq: 15, frame: 4, [5]))
        XCTAssertEqual(single.drops, [.init(frameNumber: 3, reason: .interrupted)])
        XCTAssertEqual(single.frame?.payload, [5])
        XCTAssertEqual(d.statistics, .init(deliveredFrames: 2, interrupted: 2, ignoredPackets: 1))
    }

    func testTwoPartialFramesWhenAllowed() {
        var d = Depacketizer(maxPartialFrames: 2)
        _ = d.push(Self.packet(.start, seq: 0, frame: 1, [1]))
        _ = d.push(Self.packet(.start, seq: 100, frame: 2, [2]))
        XCTAssertEqual(d.push(Self.packet(.final, seq: 101, frame: 2, [3])).frame?.payload, [2, 3])
        XCTAssertEqual(d.push(Self.packet(.final, seq: 1, frame: 1, [4])).frame?.payload, [1, 4])
        XCTAssertEqual(d.statistics.droppedFrames, 0)
    }

    func testSequenceWrapInsideAFrame() {
        var d = Depacketizer()
        _ = d.push(Self.packet(.start, seq: 65_535, frame: 65_535, [1]))
        _ = d.push(Self.packet(.inter, seq: 0, frame: 65_535, [2]))
        XCTAssertEqual(d.push(Self.packet(.final, seq: 1, frame: 65_535, [3])).frame?.payload, [1, 2, 3])
        XCTAssertEqual(d.push(Self.packet(.single, seq: 2, frame: 0, [4])).frame?.payload, [4])
    }

    func testMoreThan128PacketsDropped() {
        var d = Depacketizer()
        _ = d.push(Self.packet(.start, seq: 0, frame: 7, [0]))
        for s in 1..<128 { XCTAssertEqual(d.push(Self.packet(.inter, seq: UInt16(s), frame: 7, [0])).drops, []) }
        XCTAssertEqual(d.push(Self.packet(.final, seq: 128, frame: 7, [0])).drops, [.init(frameNumber: 7, reason: .tooManyPackets)])
        // Exactly 128 packets is fine.
        _ = d.push(Self.packet(.start, seq: 1000, frame: 8, [1]))
        for s in 1001..<1127 { _ = d.push(Self.packet(.inter, seq: UInt16(s), frame: 8, [1])) }
        XCTAssertEqual(d.push(Self.packet(.final, seq: 1127, frame: 8, [1])).frame?.packetCount, 128)
    }

    /// A publisher that comes back with its numbering restarted (new random timestamp base) is
    /// not mistaken for duplicates of its earlier frames.
    func testRestartedPublisherIsNotADuplicate() {
        var d = Depacketizer()
        XCTAssertNotNil(d.push(Self.packet(.single, seq: 0, frame: 0, ts: 5, [1])).frame)
        XCTAssertNil(d.push(Self.packet(.single, seq: 0, frame: 0, ts: 5, [1])).frame)
        XCTAssertEqual(d.push(Self.packet(.single, seq: 0, frame: 0, ts: 777_777, [2])).frame?.payload, [2])
    }

    func testMissingStartCountedOncePerFrame() {
        var d = Depacketizer()
        XCTAssertEqual(d.push(Self.packet(.inter, seq: 5, frame: 3, [0])).drops, [])
        XCTAssertEqual(d.push(Self.packet(.final, seq: 6, frame: 3, [0])).drops, [])
        // Two newer frames begin: frame 3's start is given up on, once.
        XCTAssertEqual(d.push(Self.packet(.single, seq: 7, frame: 4, [0])).drops, [])
        XCTAssertEqual(d.push(Self.packet(.single, seq: 8, frame: 5, [0])).drops, [.init(frameNumber: 3, reason: .missingStart)])
        XCTAssertEqual(d.push(Self.packet(.start, seq: 4, frame: 3, [0])).drops, [])  // its start, too late
        XCTAssertEqual(d.statistics.missingStart, 1)
        XCTAssertEqual(d.statistics.ignoredPackets, 1)
    }

    /// Over an unordered channel the short final packet of a frame can complete before its
    /// long start packet: the frame is still delivered whole, once.
    func testAStartThatComesAfterTheRestStillDeliversTheFrame() {
        var d = Depacketizer()
        XCTAssertNil(d.push(Self.packet(.final, seq: 11, frame: 7, [3, 4])).frame)
        XCTAssertNil(d.push(Self.packet(.inter, seq: 10, frame: 7, [2])).frame)
        let out = d.push(Self.packet(.start, seq: 9, frame: 7, [1]))
        XCTAssertEqual(out.frame?.payload, [1, 2, 3, 4])
        XCTAssertEqual(out.drops, [])
        XCTAssertEqual(d.statistics.deliveredFrames, 1)
        XCTAssertEqual(d.statistics.droppedFrames, 0)
        // Its packets again: ignored, not a second frame.
        XCTAssertNil(d.push(Self.packet(.final, seq: 11, frame: 7, [3, 4])).frame)
        XCTAssertEqual(d.flush(), [])
    }

    func testFramesWaitingForTheirStartAreBounded() {
        var d = Depacketizer()
        var drops: [Depacketizer.Drop] = []
        for frame in UInt16(0) ..< UInt16(Depacketizer.maxOrphanFrames + 2) {
            drops += d.push(Self.packet(.final, seq: frame * 2 + 1, frame: frame, [0])).drops
        }
        XCTAssertEqual(drops, [.init(frameNumber: 0, reason: .missingStart), .init(frameNumber: 1, reason: .missingStart)])
        XCTAssertEqual(d.flush().count, Depacketizer.maxOrphanFrames)
    }

    func testFlushDropsOpenFrames() {
        var d = Depacketizer()
        _ = d.push(Self.packet(.start, seq: 0, frame: 1, [0]))
        XCTAssertEqual(d.flush(), [.init(frameNumber: 1, reason: .incomplete)])
        XCTAssertEqual(d.flush(), [])
    }

    func testMalformedPacketsAreCountedAndChangeNothing() throws {
        var d = Depacketizer()
        _ = d.push(Self.packet(.start, seq: 0, frame: 1, [1]))
        XCTAssertThrowsError(try d.push(encoded: [0x18, 0, 0, 1])) {
            XCTAssertEqual($0 as? DataTrackError, .truncated(field: "base header", offset: 0, needed: 12, available: 4))
        }
        XCTAssertEqual(d.statistics, .init(malformedPackets: 1))
        XCTAssertEqual(d.push(Self.packet(.final, seq: 1, frame: 1, [2])).frame?.payload, [1, 2])
    }

    /// A middle packet mislabelled at the final's position, then the real final: the frame is
    /// complete and delivered (not stuck open).
    func testFinalCompletesAFrameWhoseSlotWasFilled() {
        var d = Depacketizer()
        _ = d.push(Self.packet(.start, seq: 0, frame: 1, [1]))
        _ = d.push(Self.packet(.inter, seq: 1, frame: 1, [2]))
        let out = d.push(Self.packet(.final, seq: 1, frame: 1, [3]))
        XCTAssertEqual(out.frame?.payload, [1, 2])
        XCTAssertEqual(d.statistics.ignoredPackets, 1)
    }
}
