import XCTest
@testable import DataTracks

final class PacketizerTests: XCTestCase {
    /// Groups captured packets by frame, in order (each frame's packets are consecutive).
    static func framesOfPackets(_ packets: [[UInt8]]) throws -> [[DataTrackPacket]] {
        var frames = [[DataTrackPacket]]()
        for bytes in packets {
            let p = try DataTrackPacket(decoding: bytes)
            if let last = frames.last?.last, last.header.frameNumber == p.header.frameNumber {
                frames[frames.count - 1].append(p)
            } else {
                frames.append([p])
            }
        }
        return frames
    }

    /// Given what the app pushed, our packetizer emits the SDK's packets byte for byte.
    /// Starting sequence and frame number (both 0, as in the SDK) and the handle come from the
    /// first captured packet; each frame's timestamp is taken from its captured packet, because
    /// the SDK's 90 kHz clock depends on when the app pushed, which the capture does not record.
    func testReproducesSDKPacketsByteForByte() throws {
        for capture in ["plain", "dual-pc"] {
            let pushed = try TestVectors.frames(capture, "pushed-frames.jsonl")
            let sent = try TestVectors.packets(capture, "publisher-to-server.jsonl")
            let captured = try Self.framesOfPackets(sent)
            XCTAssertEqual(captured.count, pushed.count)
            let first = captured[0][0].header
            XCTAssertEqual(first.sequence, 0)
            XCTAssertEqual(first.frameNumber, 0)
            var packetizer = try Packetizer(handle: first.handle, firstSequence: first.sequence,
                                            firstFrameNumber: first.frameNumber,
                                            clock: MediaClock(base: first.timestamp))
            var ours = [[UInt8]]()
            for (frame, packets) in zip(pushed, captured) {
                ours += try packetizer.packetizeEncoded(payload: frame.payload, userTimestamp: frame.userTimestamp,
                                                        timestamp: packets[0].header.timestamp)
            }
            XCTAssertEqual(ours.count, sent.count, capture)
            for (i, (a, b)) in zip(ours, sent).enumerated() {
                XCTAssertEqual(a, b, "\(capture) packet \(i)")
            }
            // The timestamps advance like a 90 kHz clock: the capture pushed every ~50 ms.
            for (a, b) in zip(captured, captured.dropFirst()) {
                let delta = b[0].header.timestamp &- a[0].header.timestamp
                XCTAssert((3_600...6_300).contains(delta), "\(capture): \(delta) ticks between frames")
            }
        }
    }

    /// E2EE: given the SDK's ciphertext and extension 1, the same header structure and sizes.
    func testReproducesSDKEncryptedPacketStructure() throws {
        let pushed = try TestVectors.frames("e2ee", "pushed-frames.jsonl")
        let sent = try TestVectors.packets("e2ee", "publisher-to-server.jsonl")
        let captured = try Self.framesOfPackets(sent)
        XCTAssertEqual(captured.count, pushed.count)
        var packetizer = try Packetizer(handle: captured[0][0].header.handle)
        var ours = [[UInt8]]()
        for (frame, packets) in zip(pushed, captured) {
            let ciphertext = packets.flatMap { Array($0.payload) }
            XCTAssertEqual(ciphertext.count, frame.payload.count + FrameCryptor.tagLength)
            let e2ee = try XCTUnwrap(packets[0].header.extensions.e2ee)
            ours += try packetizer.packetizeEncoded(payload: ciphertext, userTimestamp: frame.userTimestamp,
                                                    e2ee: e2ee, timestamp: packets[0].header.timestamp)
        }
        XCTAssertEqual(ours, sent)
        // 15,976-byte frame: ciphertext 15,992 no longer fits one 32-byte-header packet.
        XCTAssertEqual(captured[7].map { $0.payload.count }, [15_968, 24])
    }

    func testChunkSizesAndHeaderLengths() throws {
        for (userTimestamp, e2ee, headerLength) in [
            (nil, nil, 12), (UInt64(1), nil, 24),
            (nil, DataTrackPacket.E2EEExtension(keyIndex: 0, iv: .init(prefix: 1, counter: 2)), 32),
            (UInt64(1), DataTrackPacket.E2EEExtension(keyIndex: 0, iv: .init(prefix: 1, counter: 2)), 40),
        ] as [(UInt64?, DataTrackPacket.E2EEExtension?, Int)] {
            var packetizer = try Packetizer(handle: 9)
            let chunk = 16_000 - headerLength
            for (length, expected) in [(1, [1]), (chunk, [chunk]), (chunk + 1, [chunk, 1]),
                                       (3 * chunk - 5, [chunk, chunk, chunk - 5])] {
                let packets = try packetizer.packetize(payload: [UInt8](repeating: 7, count: length),
                                                       userTimestamp: userTimestamp, e2ee: e2ee, timestamp: 5)
                XCTAssertEqual(packets.map { $0.payload.count }, expected)
                XCTAssertEqual(packets.map { $0.header.encodedLength }, Array(repeating: headerLength, count: expected.count))
                XCTAssertLessThanOrEqual(packets.map { $0.encoded().count }.max()!, 16_000)
                let frameNumbers = Set(packets.map { $0.header.frameNumber })
                XCTAssertEqual(frameNumbers.count, 1)
                XCTAssertEqual(Set(packets.map { $0.header.extensions }).count, 1)
                let markers = packets.map { $0.header.marker }
                switch packets.count {
                case 1: XCTAssertEqual(markers, [.single])
                case 2: XCTAssertEqual(markers, [.start, .final])
                default: XCTAssertEqual(markers, [.start] + Array(repeating: .inter, count: packets.count - 2) + [.final])
                }
            }
        }
    }

    func testNumbersWrap() throws {
        var packetizer = try Packetizer(handle: 1, firstSequence: 65_534, firstFrameNumber: 65_535)
        let a = try packetizer.packetize(payload: [UInt8](repeating: 1, count: 40_000), timestamp: 1)
        XCTAssertEqual(a.map(\.header.sequence), [65_534, 65_535, 0])
        XCTAssertEqual(a.map(\.header.frameNumber), [65_535, 65_535, 65_535])
        let b = try packetizer.packetize(payload: [2], timestamp: 2)
        XCTAssertEqual(b.map(\.header.sequence), [1])
        XCTAssertEqual(b.map(\.header.frameNumber), [0])
    }

    func testLimits() throws {
        XCTAssertThrowsError(try Packetizer(handle: 0)) { XCTAssertEqual($0 as? DataTrackError, .invalidHandle(0)) }
        var packetizer = try Packetizer(handle: 1)
        let chunk = 16_000 - 12
        XCTAssertEqual(try packetizer.packetize(payload: [UInt8](repeating: 0, count: 128 * chunk)).count, 128)
        XCTAssertThrowsError(try packetizer.packetize(payload: [UInt8](repeating: 0, count: 128 * chunk + 1))) {
            XCTAssertEqual($0 as? DataTrackError, .frameTooLarge(payloadLength: 128 * chunk + 1, packets: 129, limit: 128))
        }
        // A failed frame consumes no numbers.
        XCTAssertEqual(packetizer.nextFrameNumber, 1)
        XCTAssertEqual(packetizer.nextSequence, 128)
        var tiny = try Packetizer(handle: 1, mtu: 24)
        XCTAssertThrowsError(try tiny.packetize(payload: [1], userTimestamp: 1)) {
            XCTAssertEqual($0 as? DataTrackError, .mtuTooSmall(headerLength: 24, mtu: 24))
        }
        // Empty frame: one empty single packet (the SDKs send none).
        let empty = try packetizer.packetize(payload: [])
        XCTAssertEqual(empty.count, 1)
        XCTAssertEqual(empty[0].header.marker, .single)
        XCTAssertEqual(empty[0].encoded().count, 12)
    }

    func testMediaClock() {
        let epoch = ContinuousClock.now
        var clock = MediaClock(base: 0xFFFF_FF00, epoch: epoch)
        XCTAssertEqual(clock.timestamp(at: epoch), 0xFFFF_FF00)
        // 90 kHz, wrapping at 2^32, rounded to the nearest tick (1 tick = 11.1 µs).
        XCTAssertEqual(clock.timestamp(at: epoch + .seconds(1)), 0xFFFF_FF00 &+ 90_000)
        XCTAssertEqual(clock.timestamp(at: epoch + .seconds(1) + .microseconds(5)), 0xFFFF_FF00 &+ 90_000)
        XCTAssertEqual(clock.timestamp(at: epoch + .seconds(1) + .microseconds(6)), 0xFFFF_FF00 &+ 90_001)
        XCTAssertEqual(clock.timestamp(at: epoch + .seconds(2) + .microseconds(5)), 0xFFFF_FF00 &+ 180_000)
        // Never backwards.
        XCTAssertEqual(clock.timestamp(at: epoch + .milliseconds(500)), 0xFFFF_FF00 &+ 180_000)
        XCTAssertEqual(clock.timestamp(at: epoch - .seconds(1)), 0xFFFF_FF00 &+ 180_000)
        XCTAssertEqual(clock.timestamp(at: epoch + .seconds(3600)), 0xFFFF_FF00 &+ 324_000_000)
        // Random base per track.
        XCTAssertNotEqual(MediaClock().base, MediaClock().base)
        // The packetizer stamps all packets of a frame alike.
        var packetizer = try! Packetizer(handle: 3)
        let packets = try! packetizer.packetize(payload: [UInt8](repeating: 0, count: 50_000))
        XCTAssertEqual(Set(packets.map(\.header.timestamp)).count, 1)
    }
}
