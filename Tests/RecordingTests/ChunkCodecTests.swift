import XCTest
@testable import Recording

final class ChunkCodecTests: XCTestCase {
    /// Three records covering each field variant, byte by byte (recording-format.md, "Chunk body").
    static let vector: [UInt8] = [
        // record 1: time 1000 (zigzag 2000 = varint D0 0F), no user timestamp, 1-byte payload
        0xD0, 0x0F, 0x00, 0x01, 0xAA,
        // record 2: time 999 (delta -1, zigzag 1), user timestamp 0x0102030405060708 LE, empty payload
        0x01, 0x01, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x00,
        // record 3: time 1063 (delta 64, zigzag 128 = 80 01), user timestamp u64 max, payload 00 01
        0x80, 0x01, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x00, 0x01,
    ]

    func testEncodesVectorByteByByte() {
        var e = ChunkEncoder()
        e.append(receiveTimeNs: 1000, userTimestamp: nil, payload: [0xAA])
        e.append(receiveTimeNs: 999, userTimestamp: 0x0102_0304_0506_0708, payload: [])
        e.append(receiveTimeNs: 1063, userTimestamp: .max, payload: [0x00, 0x01])
        XCTAssertEqual(e.bytes, Self.vector)
        XCTAssertEqual(e.frameCount, 3)
        XCTAssertEqual(e.startNs, 999)
        XCTAssertEqual(e.endNs, 1063)
    }

    func testDecodesVector() throws {
        let records = try ChunkDecoder.decodeAll(Self.vector)
        XCTAssertEqual(records, [
            ChunkRecord(receiveTimeNs: 1000, userTimestamp: nil, payloadOffset: 4, payloadCount: 1),
            ChunkRecord(receiveTimeNs: 999, userTimestamp: 0x0102_0304_0506_0708, payloadOffset: 16, payloadCount: 0),
            ChunkRecord(receiveTimeNs: 1063, userTimestamp: .max, payloadOffset: 28, payloadCount: 2),
        ])
    }

    func testEveryTruncatedPrefixFailsOrEndsOnARecordBoundary() {
        let boundaries: Set<Int> = [0, 5, 16, 30]
        for n in 0..<Self.vector.count {
            let prefix = Array(Self.vector[0..<n])
            do {
                let records = try ChunkDecoder.decodeAll(prefix)
                XCTAssertTrue(boundaries.contains(n), "prefix \(n) decoded to \(records.count) records")
            } catch let e as ChunkDecodingError {
                XCTAssertFalse(boundaries.contains(n), "prefix \(n) is a record boundary but failed: \(e)")
                XCTAssertLessThanOrEqual(e.offset, n)
            } catch {
                XCTFail("unexpected error \(error)")
            }
        }
    }

    func testUnknownFlagBitsAreRejectedWithOffset() {
        XCTAssertThrowsError(try ChunkDecoder.decodeAll([0x00, 0x02, 0x00])) { e in
            XCTAssertEqual(e as? ChunkDecodingError, .malformed(at: 1, "unknown flag bits 0x2 (format version 1 defines bit 0 only)"))
        }
    }

    func testOverlongVarintAndHugeLengthAreErrorsNotCrashes() {
        XCTAssertThrowsError(try ChunkDecoder.decodeAll([UInt8](repeating: 0xFF, count: 11) + [0x00]))
        // length varint claims 2^63 bytes
        XCTAssertThrowsError(try ChunkDecoder.decodeAll([0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]))
    }

    func testExtremeTimesRoundTrip() throws {
        var e = ChunkEncoder()
        let times: [Int64] = [.max, .min, 0, -1, 1, .max, 1_790_000_000_000_000_000]
        for t in times { e.append(receiveTimeNs: t, userTimestamp: nil, payload: []) }
        XCTAssertEqual(try ChunkDecoder.decodeAll(e.bytes).map(\.receiveTimeNs), times)
    }

    func testVarintEdges() throws {
        for v: UInt64 in [0, 1, 127, 128, 16383, 16384, UInt64(UInt32.max), .max - 1, .max] {
            var b: [UInt8] = []
            Varint.append(v, to: &b)
            var off = 0
            let r = try b.withUnsafeBytes { raw in try Varint.read(raw, at: &off) }
            XCTAssertEqual(r, v)
            XCTAssertEqual(off, b.count)
        }
        for v: Int64 in [0, -1, 1, .min, .max] { XCTAssertEqual(Varint.unzigzag(Varint.zigzag(v)), v) }
    }

    func testResetKeepsCapacityAndStartsFresh() throws {
        var e = ChunkEncoder(reservingCapacity: 4096)
        e.append(receiveTimeNs: 5, userTimestamp: 1, payload: [1, 2, 3])
        e.reset()
        e.append(receiveTimeNs: 1000, userTimestamp: nil, payload: [0xAA])
        XCTAssertEqual(e.bytes, Array(Self.vector[0..<5]))
        XCTAssertGreaterThanOrEqual(e.capacity, 4096)
    }

    func testSchemaFileMatchesWhatTheWriterApplies() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("schemas/recording.sql")
        let text = try String(contentsOf: file, encoding: .utf8)
        XCTAssertEqual(text.trimmingCharacters(in: .whitespacesAndNewlines),
                       RecordingFormat.schemaSQL.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
