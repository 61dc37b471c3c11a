import XCTest
@testable import Recording
import TrackModel

/// Files built to hurt: an output naming the input, sizes declared to exhaust memory, values
/// chosen to overflow. Each must end in a typed error or a reported problem, never a crash,
/// a blow-up or a lost input.
final class HostileFileTests: TemporaryDirectoryTestCase {
    func makeRecording(_ name: String, frames: Int = 3) throws -> String {
        let p = path(name)
        let w = try RecordingWriter(path: p, options: .init(chunkIntervalNs: nil))
        let a = try w.addTrack(TrackInfo(identity: "r", name: "a"))
        for i in 0..<frames {
            // Compressible, so the chunks are stored as zstd.
            try w.append(track: a, receiveTimeNs: Int64(i) * 1000, userTimestamp: nil, payload: [UInt8](repeating: UInt8(i), count: 200))
            try w.flush()
        }
        try w.close()
        return p
    }

    func frameCount(_ p: String) throws -> Int {
        try readAll(RecordingReader(path: p)).count
    }

    // MARK: output is input

    func testRepairRefusesItsOwnInputByAnyName() throws {
        let p = try makeRecording("a.tbag")
        let before = try Data(contentsOf: URL(fileURLWithPath: p))
        let symlink = path("link.tbag")
        try FileManager.default.createSymbolicLink(atPath: symlink, withDestinationPath: p)
        let hardlink = path("hard.tbag")
        XCTAssertEqual(link(p, hardlink), 0)
        let dotted = dir.appendingPathComponent("sub").path
        try FileManager.default.createDirectory(atPath: dotted, withIntermediateDirectories: true)
        for output in [p, symlink, hardlink, dotted + "/../a.tbag", p + "-wal"] {
            XCTAssertThrowsError(try RecordingDoctor.repair(path: p, output: output), output) { e in
                let text = "\(e)"
                XCTAssertTrue(text.contains("never overwrites what it reads"), text)
                XCTAssertTrue(text.contains(output), text)
            }
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: p)), before, "input changed by output \(output)")
            XCTAssertEqual(try frameCount(p), 3)
        }
        // Through a symlink as the input, with the real file as output: refused too.
        XCTAssertThrowsError(try RecordingDoctor.repair(path: symlink, output: p))
        XCTAssertEqual(try frameCount(p), 3)
    }

    func testRepairReplacesAnotherFileOnlyWhenComplete() throws {
        let p = try makeRecording("a.tbag")
        let out = try makeRecording("out.tbag", frames: 5)
        let r = try RecordingDoctor.repair(path: p, output: out)
        XCTAssertEqual(r.framesRecovered, 3)
        XCTAssertEqual(try frameCount(out), 3)
        XCTAssertEqual(try frameCount(p), 3)
        // No temporary file is left beside it.
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(left, [])
    }

    func testWriterRefusesADeclaredInputAndKeepsAnOverwrittenFileUntilClose() throws {
        let p = try makeRecording("a.tbag")
        XCTAssertThrowsError(try RecordingWriter(path: p, options: .init(overwrite: true, inputs: [p]))) { e in
            XCTAssertEqual((e as? RecordingError)?.kind, .invalidArgument)
        }
        XCTAssertEqual(try frameCount(p), 3)
        // overwrite: the old file stays readable while the new one is written.
        let w = try RecordingWriter(path: p, options: .init(chunkIntervalNs: nil, overwrite: true))
        XCTAssertNotEqual(w.writingPath, p)
        let t = try w.addTrack(TrackInfo(identity: "r", name: "b"))
        try w.append(track: t, receiveTimeNs: 1, userTimestamp: nil, payload: [1])
        try w.flush()
        XCTAssertEqual(try frameCount(p), 3)
        try w.close()
        XCTAssertEqual(try frameCount(p), 1)
    }

    func testOutputPathCheck() throws {
        let p = try makeRecording("a.tbag")
        XCTAssertNoThrow(try OutputPath.refuseInput(output: path("other.tbag"), inputs: [p]))
        XCTAssertNoThrow(try OutputPath.refuseInput(output: "-", inputs: [p]))
        XCTAssertThrowsError(try OutputPath.refuseInput(output: dir.path + "/./a.tbag", inputs: [p]))
        XCTAssertThrowsError(try OutputPath.refuseInput(output: p + "-shm", inputs: [p]))
    }

    // MARK: sizes declared to exhaust memory

    func setColumns(_ p: String, _ sql: String) throws {
        let db = try SQLiteConnection(path: p, readOnly: false)
        try db.execute(sql)
        db.close()
    }

    func testChunkDeclaringMoreThanTheLimitIsRefusedNamingChunkAndLimit() throws {
        let p = try makeRecording("big.tbag")
        try setColumns(p, "UPDATE chunks SET raw_size = 2147483648 WHERE id = 2")
        let cursor = try RecordingReader(path: p).frames()
        XCTAssertThrowsError(try { while try cursor.next() != nil {} }()) { e in
            guard let e = e as? RecordingError else { return XCTFail("\(e)") }
            XCTAssertEqual(e.kind, .corrupt)
            XCTAssertEqual(e.place, "chunk 2 (track 1)")
            XCTAssertTrue(e.message.contains("raw_size 2147483648"), e.message)
            XCTAssertTrue(e.message.contains("\(RecordingFormat.maxChunkRawSize)"), e.message)
        }
        XCTAssertLessThan(cursor.decompressor.largestOutput, 1 << 20)
        let report = try RecordingDoctor.check(path: p)
        XCTAssertTrue(report.problems.contains { $0.place == "chunk 2 (track 1)" && $0.message.contains("chunk size limit") },
                      "\(report.problems)")
    }

    func testChunkDeclaringMoreThanItsBytesCanHoldIsRefusedBeforeAllocating() throws {
        let p = try makeRecording("lie.tbag")
        // Within the limit, but far beyond what a few dozen zstd bytes can become.
        try setColumns(p, "UPDATE chunks SET raw_size = \(100 << 20) WHERE id = 1")
        let cursor = try RecordingReader(path: p).frames()
        XCTAssertThrowsError(try cursor.next()) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("chunk 1 (track 1)"), text)
            XCTAssertTrue(text.contains("can expand to"), text)
        }
        XCTAssertLessThan(cursor.decompressor.largestOutput, 1 << 20)
        let d = try ZstdDecompressor()
        var body: [UInt8] = []
        // A frame header whose content size disagrees with raw_size: refused before sizing.
        let c = try ZstdCompressor(level: 1)
        var compressed: [UInt8] = []
        let n = try [UInt8](repeating: 1, count: 4096).withUnsafeBytes { try c.compress($0, into: &compressed) }
        XCTAssertThrowsError(try compressed.withUnsafeBytes {
            try d.decompress(UnsafeRawBufferPointer(rebasing: $0[0..<n]), expectedSize: 8000, into: &body)
        }) { e in XCTAssertTrue("\(e)".contains("frame header says 4096"), "\(e)") }
        XCTAssertEqual(d.largestOutput, 0)
    }

    /// Eight tracks whose chunks overlap in time; `interleaved`: every frame alternates track.
    func writeOverlapping(_ name: String, interleaved: Bool) throws -> String {
        let p = path(name)
        let w = try RecordingWriter(path: p, options: .init(chunkBytes: 256 << 10, chunkIntervalNs: nil))
        let tracks = try (0..<8).map { try w.addTrack(TrackInfo(identity: "r", name: "t\($0)")) }
        for (k, t) in tracks.enumerated() {
            for i in 0..<96 {
                // Interleaved: times i*8+k. Else runs per track, each track's last frame late,
                // so the last chunks of all tracks overlap.
                let time = interleaved ? Int64(i * 8 + k) : (i == 95 ? Int64(100_000 + k) : Int64(k * 1000 + i))
                try w.append(track: t, receiveTimeNs: time, userTimestamp: UInt64(i),
                             payload: [UInt8](repeating: UInt8(truncatingIfNeeded: i &+ k), count: 16 << 10))
            }
        }
        try w.close()
        return p
    }

    func testOverlappingChunksStayWithinTheResidentLimit() throws {
        let reader = try RecordingReader(path: try writeOverlapping("overlap.tbag", interleaved: false))
        let free = try reader.frames()
        var expected: [RecordedFrame] = []
        while let f = try free.next() { expected.append(f) }
        XCTAssertEqual(expected.count, 768)
        XCTAssertGreaterThan(free.peakResidentBytes, 1 << 20)

        let bounded = try reader.frames()
        bounded.residentByteLimit = 600 << 10
        var got: [RecordedFrame] = []
        while let f = try bounded.next() { got.append(f) }
        XCTAssertEqual(got, expected)
        XCTAssertLessThanOrEqual(bounded.peakResidentBytes, (600 << 10) + (16 << 10))
        XCTAssertGreaterThan(bounded.redecompressedBytes, 0)
    }

    func testOverlapThatCannotBeMergedWithinTheLimitEndsInAnErrorNotHoursOfWork() throws {
        let reader = try RecordingReader(path: try writeOverlapping("interleaved.tbag", interleaved: true))
        let bounded = try reader.frames()
        bounded.residentByteLimit = 600 << 10
        XCTAssertThrowsError(try { while try bounded.next() != nil {} }()) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("chunk "), text)
            XCTAssertTrue(text.contains("more than the \(600 << 10) bytes"), text)
        }
        XCTAssertLessThanOrEqual(bounded.peakResidentBytes, (600 << 10) + (16 << 10))
        XCTAssertLessThanOrEqual(bounded.redecompressedBytes, bounded.firstDecompressedBytes + (600 << 10) + (300 << 10))
    }

    func testWriterRefusesFramesAboveTheFrameLimit() throws {
        let w = try RecordingWriter(path: path("x.tbag"), options: .init(chunkIntervalNs: nil))
        let t = try w.addTrack(TrackInfo(identity: "r", name: "a"))
        let huge = [UInt8](repeating: 0, count: RecordingFormat.maxFramePayload + 1)
        XCTAssertThrowsError(try w.append(track: t, receiveTimeNs: 0, userTimestamp: nil, payload: huge))
        XCTAssertThrowsError(try RecordingWriter(path: path("y.tbag"), options: .init(chunkBytes: RecordingFormat.maxFramePayload + 1)))
    }

    // MARK: values chosen to overflow

    func testSpanOverflowingInt64IsReportedNotTrapped() throws {
        let p = try makeRecording("span.tbag")
        try setColumns(p, "UPDATE chunks SET start_ns = -9000000000000000000, end_ns = 9000000000000000000 WHERE id = 1")
        let s = try RecordingReader(path: p).summary()
        XCTAssertEqual(s.firstNs, -9_000_000_000_000_000_000)
        XCTAssertEqual(s.durationSeconds, 18e9, accuracy: 1)
        XCTAssertTrue(s.tracks[0].rateHz.isFinite)
        let report = try RecordingDoctor.check(path: p)
        XCTAssertFalse(report.isHealthy)
        XCTAssertTrue(report.problems.contains { $0.place == "chunk 1 (track 1)" && $0.message.contains("overflows Int64") },
                      "\(report.problems)")
    }

    func testFrameCountsOverflowingTheTotalAreReportedNotTrapped() throws {
        let p = path("counts.tbag")
        let w = try RecordingWriter(path: p, options: .init(chunkIntervalNs: nil))
        for name in ["a", "b"] {
            let t = try w.addTrack(TrackInfo(identity: "r", name: name))
            try w.append(track: t, receiveTimeNs: 5, userTimestamp: nil, payload: [1, 2, 3])
        }
        try w.close()
        try setColumns(p, "UPDATE chunks SET frame_count = \(Int64.max)")
        let s = try RecordingReader(path: p).summary()
        XCTAssertEqual(s.frameCount, Int64.max)
        XCTAssertTrue(s.problems.contains { $0.contains("frame counts") }, "\(s.problems)")
        let report = try RecordingDoctor.check(path: p)
        XCTAssertTrue(report.problems.contains { $0.message.contains("overflow Int64") }, "\(report.problems)")
        XCTAssertEqual(RecordingSummary.checkedSum([.max, 1]).overflowed, true)
        XCTAssertEqual(RecordingSummary.checkedSum([.min, -1]).sum, .min)
    }

    func testReplayDeadlinesOfExtremeTimesSaturate() {
        var clock = ReplayClock(rate: 0.5)
        clock.start(at: -9_000_000_000_000_000_000)
        XCTAssertEqual(clock.deadline(for: 9_000_000_000_000_000_000), .max)
        XCTAssertEqual(ReplayClock.saturatingAdd(.min, -1e30), .min)
        XCTAssertEqual(ReplayClock.saturatingAdd(5, 10), 15)
        clock.setRate(4)
    }

    func testOneTracksFrameCountsOverflowingAreReportedNotAnError() throws {
        let p = try makeRecording("one.tbag")
        try setColumns(p, "UPDATE chunks SET frame_count = \(Int64.max) WHERE id <= 2")
        let s = try RecordingReader(path: p).summary()
        XCTAssertEqual(s.tracks[0].frameCount, Int64.max)
        XCTAssertTrue(s.problems.contains { $0.contains("track 1") }, "\(s.problems)")
    }
}
