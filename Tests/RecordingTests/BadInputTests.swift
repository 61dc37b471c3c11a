import XCTest
@testable import Recording
import TrackModel

/// Bad input: each damaged file gives a typed error naming the file and the place.
final class BadInputTests: TemporaryDirectoryTestCase {
    func makeRecording(_ name: String, frames: Int = 2000, chunkBytes: Int = 4096) throws -> String {
        let p = path(name)
        let w = try RecordingWriter(path: p, options: .init(chunkBytes: chunkBytes, chunkIntervalNs: nil))
        let a = try w.addTrack(TrackInfo(identity: "r", name: "a", frameEncoding: "json"))
        let b = try w.addTrack(TrackInfo(identity: "r", name: "b"))
        for i in 0..<frames {
            let payload = Array("{\"i\":\(i),\"v\":\(i * 31 % 977)}".utf8)
            try w.append(track: i % 3 == 0 ? b : a, receiveTimeNs: Int64(i) * 1000, userTimestamp: UInt64(i), payload: payload)
        }
        try w.close()
        return p
    }

    func assertOpenFails(_ p: String, _ kind: RecordingError.Kind, place: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try RecordingReader(path: p), file: file, line: line) { e in
            guard let e = e as? RecordingError else { return XCTFail("untyped error \(e)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, e.description, file: file, line: line)
            XCTAssertEqual(e.file, p, file: file, line: line)
            if let place { XCTAssertEqual(e.place, place, file: file, line: line) }
            XCTAssertTrue(e.description.hasPrefix(p), file: file, line: line)
        }
    }

    func testNonSQLiteFile() throws {
        let p = path("text.tbag")
        try Data("hello, I am not a database\n".utf8).write(to: URL(fileURLWithPath: p))
        assertOpenFails(p, .notSQLite, place: "byte 0")
    }

    func testEmptyFileAndMissingFile() throws {
        let p = path("empty.tbag")
        _ = FileManager.default.createFile(atPath: p, contents: Data())
        assertOpenFails(p, .notARecording)
        assertOpenFails(path("absent.tbag"), .io)
    }

    func testOtherSQLiteDatabaseIsNotARecording() throws {
        let p = path("other.db")
        let db = try SQLiteConnection(path: p, readOnly: false, create: true)
        try db.execute("CREATE TABLE t(x)")
        db.close()
        assertOpenFails(p, .notARecording, place: "sqlite_master")
    }

    func testNewerFormatVersion() throws {
        let p = try makeRecording("new.tbag", frames: 10)
        let db = try SQLiteConnection(path: p, readOnly: false)
        try db.execute("PRAGMA user_version=2")
        db.close()
        assertOpenFails(p, .newerVersion, place: "PRAGMA user_version")
    }

    func testEveryTruncationIsATypedErrorNeverACrash() throws {
        let p = try makeRecording("full.tbag")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: p))
        XCTAssertGreaterThan(bytes.count, 8192)
        for n in [1, 15, 16, 50, 99, 100, 4096, bytes.count / 2, bytes.count - 4096, bytes.count - 1] {
            let t = path("cut-\(n).tbag")
            try bytes.prefix(n).write(to: URL(fileURLWithPath: t))
            XCTAssertThrowsError(try RecordingReader(path: t), "prefix \(n)") { e in
                let e = e as? RecordingError
                XCTAssertNotNil(e)
                XCTAssertTrue([.truncated, .notSQLite, .corrupt].contains(e?.kind), "prefix \(n): \(String(describing: e))")
                XCTAssertEqual(e?.file, t)
            }
        }
    }

    func testCorruptChunkBlobIsReportedWithItsChunkAndRepairedAround() throws {
        let p = try makeRecording("bad.tbag")
        let db = try SQLiteConnection(path: p, readOnly: false)
        let before = try db.scalarInt("SELECT COUNT(*) FROM chunks") ?? 0
        let lostFrames = try db.scalarInt("SELECT frame_count FROM chunks WHERE id = 3") ?? 0
        let track = try db.scalarInt("SELECT track_id FROM chunks WHERE id = 3") ?? 0
        // Flip bytes in the middle of chunk 3's compressed blob.
        try db.execute("UPDATE chunks SET data = substr(data, 1, 10) || x'DEADBEEFDEADBEEF' || substr(data, 19) WHERE id = 3")
        db.close()

        let r = try RecordingReader(path: p)
        XCTAssertThrowsError(try readAll(r)) { e in
            let e = e as? RecordingError
            XCTAssertEqual(e?.kind, .corrupt)
            XCTAssertEqual(e?.file, p)
            XCTAssertEqual(e?.place, "chunk 3 (track \(track))")
        }

        let report = try RecordingDoctor.check(path: p)
        XCTAssertFalse(report.isHealthy)
        XCTAssertEqual(report.problems.map(\.place), ["chunk 3 (track \(track))"])

        let out = path("bad.repaired.tbag")
        let repair = try RecordingDoctor.repair(path: p, output: out)
        XCTAssertEqual(repair.chunksLost, 1)
        XCTAssertEqual(repair.framesLost, lostFrames)
        XCTAssertEqual(repair.chunksRecovered, Int(before) - 1)
        XCTAssertTrue(try RecordingDoctor.check(path: out).isHealthy)
        let repaired = try RecordingReader(path: out)
        XCTAssertEqual(try readAll(repaired).count, 2000 - Int(lostFrames))
        XCTAssertEqual(repaired.tracks.map(\.info), r.tracks.map(\.info))
    }

    func testFrameCountMismatchAndUnknownCodec() throws {
        let p = try makeRecording("count.tbag", frames: 100)
        let db = try SQLiteConnection(path: p, readOnly: false)
        try db.execute("UPDATE chunks SET frame_count = frame_count + 1 WHERE id = 1")
        try db.execute("UPDATE chunks SET codec = 'lz4' WHERE id = 2")
        db.close()
        let report = try RecordingDoctor.check(path: p)
        XCTAssertEqual(report.problems.count, 2)
        XCTAssertTrue(report.problems[0].message.contains("frame_count"), report.problems[0].message)
        XCTAssertTrue(report.problems[1].message.contains("unknown chunk codec 'lz4'"))
        XCTAssertThrowsError(try readAll(try RecordingReader(path: p)))
    }

    func testHealthyFileChecksClean() throws {
        let p = try makeRecording("ok.tbag")
        let report = try RecordingDoctor.check(path: p)
        XCTAssertTrue(report.isHealthy, "\(report.problems)")
        XCTAssertEqual(report.framesChecked, 2000)
    }

    func testUnknownEventKindBecomesANote() throws {
        let p = try makeRecording("ev.tbag", frames: 1)
        let db = try SQLiteConnection(path: p, readOnly: false)
        try db.execute("INSERT INTO events(time_ns, kind, detail) VALUES (5, 'teleport', 'far')")
        db.close()
        let e = try RecordingReader(path: p).events()
        XCTAssertEqual(e, [SessionEvent(timeNs: 5, kind: .note, detail: "[teleport] far")])
    }
}
