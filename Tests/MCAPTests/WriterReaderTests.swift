import Foundation
import XCTest
@testable import MCAP

/// Writer → reader round trips, truncation at every byte, and corrupt CRCs.
final class WriterReaderTests: XCTestCase {
    var dir: String = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "mcap-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    struct Written {
        var messages: [Message]
        var metadata: [Metadata]
    }

    /// A small file: two channels (one with a schema), messages spread over several chunks,
    /// metadata and an attachment between chunks.
    @discardableResult
    func writeSample(_ path: String, _ options: MCAPWriter.Options, count: Int = 60) throws -> Written {
        let w = try MCAPWriter(path: path, options: options)
        let s = try w.addSchema(name: "S", encoding: "jsonschema", data: Array("{}".utf8))
        let a = try w.addChannel(topic: "/a/json", messageEncoding: "json", schemaId: s, metadata: ["k": "v"])
        let b = try w.addChannel(topic: "raw", messageEncoding: "")
        var messages: [Message] = []
        var metadata: [Metadata] = []
        for i in 0..<count {
            let m = Message(channelId: i % 3 == 0 ? b : a, sequence: UInt32(i), logTime: UInt64(1000 + i * 10),
                            publishTime: UInt64(900 + i), data: (0..<(i * 7 % 50)).map { UInt8(truncatingIfNeeded: $0 &+ i) })
            try w.addMessage(channelId: m.channelId, sequence: m.sequence, logTime: m.logTime,
                             publishTime: m.publishTime, data: m.data)
            messages.append(m)
            if i == count / 2 {
                let md = Metadata(name: "mid", metadata: ["i": String(i)])
                try w.addMetadata(md)
                metadata.append(md)
                try w.addAttachment(Attachment(logTime: 5, createTime: 6, name: "a.txt", mediaType: "text/plain",
                                               data: Array("attached".utf8)))
            }
        }
        try w.finish()
        return Written(messages: messages, metadata: metadata)
    }

    func readAll(_ path: String, _ options: MCAPReader.Options = .init()) throws -> (MCAPReader, [Record]) {
        let r = try MCAPReader(path: path, options: options)
        var out: [Record] = []
        while let rec = try r.next() { out.append(rec) }
        return (r, out)
    }

    func messages(_ records: [Record]) -> [Message] {
        records.compactMap { if case .message(let m) = $0 { return m } else { return nil } }
    }

    func testRoundTripEveryCompressionAndLayout() throws {
        let layouts: [(String, MCAPWriter.Options)] = [
            ("zstd", .init(compression: .zstd, chunkSize: 300)),
            ("lz4", .init(compression: .lz4, chunkSize: 300)),
            ("none", .init(compression: .none, chunkSize: 300)),
            ("unchunked", .init(useChunks: false)),
        ]
        for (name, options) in layouts {
            let path = "\(dir)/\(name).mcap"
            let written = try writeSample(path, options)
            for useIndex in [true, false] {
                let (reader, records) = try readAll(path, .init(useIndex: useIndex))
                XCTAssertEqual(reader.mode, useIndex && options.useChunks ? .indexed : .linear, name)
                XCTAssertEqual(messages(records), written.messages, "\(name) index=\(useIndex)")
                let md = records.compactMap { if case .metadata(let m) = $0 { return m } else { return nil } }
                XCTAssertEqual(md, written.metadata, name)
                let channels = records.compactMap { if case .channel(let c) = $0 { return c } else { return nil } }
                XCTAssertEqual(channels.map(\.topic), ["/a/json", "raw"], name)
                XCTAssertEqual(channels.first?.metadata, ["k": "v"])
                let att = records.compactMap { if case .attachment(let a) = $0 { return a } else { return nil } }
                XCTAssertEqual(att.map(\.name), ["a.txt"], name)
            }
            let summary = try XCTUnwrap(try MCAPReader(path: path).readSummary())
            let st = try XCTUnwrap(summary.statistics)
            XCTAssertEqual(st.messageCount, UInt64(written.messages.count))
            XCTAssertEqual(st.channelMessageCounts, [1: 40, 2: 20])
            XCTAssertEqual(st.messageStartTime, 1000)
            XCTAssertEqual(st.messageEndTime, 1590)
            XCTAssertEqual(st.metadataCount, 1)
            XCTAssertEqual(st.attachmentCount, 1)
            XCTAssertEqual(Int(st.chunkCount), summary.chunkIndexes.count)
            XCTAssertEqual(summary.chunkIndexes.isEmpty, !options.useChunks, name)
            if options.useChunks { XCTAssertGreaterThan(summary.chunkIndexes.count, 3, name) }
            // Summary offsets point at their groups.
            let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
            for o in summary.summaryOffsets {
                XCTAssertEqual(bytes[Int(o.groupStart)], o.groupOpcode, name)
            }
        }
    }

    func testEmptyFile() throws {
        let path = "\(dir)/empty.mcap"
        try MCAPWriter(path: path).finish()
        let (reader, records) = try readAll(path)
        XCTAssertTrue(records.isEmpty)
        XCTAssertEqual(reader.messagesRead, 0)
        XCTAssertEqual(try reader.readSummary()?.statistics?.messageCount, 0)
    }

    /// Cut the file at every length: each cut is a typed error saying how many messages and
    /// bytes were readable, and those messages are exactly the file's first ones.
    func testTruncatedAtEveryByte() throws {
        for (name, options) in [("chunked", MCAPWriter.Options(compression: .zstd, chunkSize: 200)),
                                ("unchunked", MCAPWriter.Options(useChunks: false))] {
            let path = "\(dir)/full-\(name).mcap"
            let written = try writeSample(path, options, count: 12)
            let full = try Data(contentsOf: URL(fileURLWithPath: path))
            for cut in 0..<full.count {
                let cutPath = "\(dir)/cut.mcap"
                try full.prefix(cut).write(to: URL(fileURLWithPath: cutPath))
                var got: [Message] = []
                do {
                    let r = try MCAPReader(path: cutPath)
                    while let rec = try r.next() { if case .message(let m) = rec { got.append(m) } }
                    XCTFail("\(name): cut at \(cut) of \(full.count) read without error")
                } catch let e as MCAPError {
                    XCTAssertTrue([.truncated, .notMCAP, .malformed].contains(e.kind), "\(name) cut \(cut): \(e)")
                    XCTAssertEqual(e.messagesRead, got.count, "\(name) cut \(cut): \(e)")
                    XCTAssertLessThanOrEqual(e.bytesReadable ?? .max, Int64(cut), "\(name) cut \(cut)")
                    XCTAssertEqual(got, Array(written.messages.prefix(got.count)))
                    XCTAssertTrue(e.description.contains("readable"), e.description)
                }
            }
        }
    }

    func testCorruptChunkCRC() throws {
        let path = "\(dir)/crc.mcap"
        try writeSample(path, .init(compression: .none, chunkSize: 200))
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        let chunk = try XCTUnwrap(MCAPReader(path: path).readSummary()?.chunkIndexes.first)
        bytes[Int(chunk.chunkStartOffset) + Int(chunk.chunkLength) - 3] ^= 0x55
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        for useIndex in [true, false] {
            XCTAssertThrowsError(try readAll(path, .init(useIndex: useIndex))) {
                let e = $0 as? MCAPError
                XCTAssertEqual(e?.kind, .crcMismatch, "\(String(describing: e))")
                XCTAssertEqual(e?.offset, Int64(chunk.chunkStartOffset))
            }
        }
        // Without validation the damaged bytes come through (the caller asked for it).
        XCTAssertNoThrow(try readAll(path, .init(validateCRCs: false)))
    }

    func testCorruptSummaryAndDataSection() throws {
        let path = "\(dir)/sum.mcap"
        try writeSample(path, .init(compression: .zstd, chunkSize: 200))
        let original = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        let footer = try XCTUnwrap(MCAPReader(path: path).readSummary()?.footer)
        // A byte inside the summary: readSummary and the linear pass both report it.
        var bytes = original
        bytes[Int(footer.summaryStart) + 20] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try MCAPReader(path: path).readSummary()) {
            XCTAssertEqual(($0 as? MCAPError)?.kind, .crcMismatch)
        }
        XCTAssertThrowsError(try readAll(path, .init(useIndex: false))) {
            XCTAssertEqual(($0 as? MCAPError)?.kind, .crcMismatch)
        }
        // The Header's library string is in the data section: the Data End CRC catches it.
        bytes = original
        bytes[8 + 9 + 4 + 4] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try readAll(path, .init(useIndex: false))) {
            XCTAssertEqual(($0 as? MCAPError)?.kind, .crcMismatch, "\($0)")
        }
    }

    func testNotMCAPAndBadArguments() throws {
        let path = "\(dir)/x.mcap"
        try Data("hello world, not mcap".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try MCAPReader(path: path)) { XCTAssertEqual(($0 as? MCAPError)?.kind, .notMCAP) }
        XCTAssertThrowsError(try MCAPWriter(path: path, options: .init(chunkSize: 0))) {
            XCTAssertEqual(($0 as? MCAPError)?.kind, .invalidArgument)
        }
        let w = try MCAPWriter(path: path)
        XCTAssertThrowsError(try w.addMessage(channelId: 7, sequence: 0, logTime: 0, publishTime: 0, data: [])) {
            XCTAssertEqual(($0 as? MCAPError)?.kind, .invalidArgument)
        }
    }

    /// A chunk claiming more than the limit is refused before allocating.
    func testChunkSizeLimit() throws {
        let path = "\(dir)/limit.mcap"
        try writeSample(path, .init(compression: .none, chunkSize: 100_000))
        XCTAssertThrowsError(try readAll(path, .init(useIndex: false, maxChunkSize: 100))) {
            XCTAssertEqual(($0 as? MCAPError)?.kind, .malformed)
        }
    }
}

/// Damaged files never crash the reader: random byte flips and overwritten length fields give
/// either records or a typed `MCAPError`, with CRC checks off so the damage reaches the parsers.
final class CorruptionTests: XCTestCase {
    func testRandomDamageIsAlwaysATypedError() throws {
        let dir = NSTemporaryDirectory() + "mcap-corrupt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SystemRandomNumberGenerator()
        for (name, options) in [("zstd", MCAPWriter.Options(compression: .zstd, chunkSize: 300)),
                                ("lz4", MCAPWriter.Options(compression: .lz4, chunkSize: 300)),
                                ("none", MCAPWriter.Options(compression: .none, chunkSize: 300)),
                                ("flat", MCAPWriter.Options(useChunks: false))] {
            let path = "\(dir)/\(name).mcap"
            let w = try MCAPWriter(path: path, options: options)
            let c = try w.addChannel(topic: "/t", messageEncoding: "json", metadata: ["a": "b"])
            for i in 0..<40 {
                try w.addMessage(channelId: c, sequence: 0, logTime: UInt64(i), publishTime: 0, data: Array(repeating: UInt8(i), count: i))
            }
            try w.addMetadata(Metadata(name: "m", metadata: ["k": "v"]))
            try w.finish()
            let original = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
            for trial in 0..<150 {
                var bytes = original
                let at = Int.random(in: 8..<bytes.count, using: &rng)
                if trial % 3 == 0, at + 8 <= bytes.count {
                    // Overwrite 8 bytes with a huge or random length.
                    let v: UInt64 = trial % 2 == 0 ? .max - UInt64(trial) : UInt64.random(in: 0...1 << 40, using: &rng)
                    withUnsafeBytes(of: v.littleEndian) { for k in 0..<8 { bytes[at + k] = $0[k] } }
                } else {
                    bytes[at] ^= UInt8.random(in: 1...255, using: &rng)
                }
                let damaged = "\(dir)/damaged.mcap"
                try Data(bytes).write(to: URL(fileURLWithPath: damaged))
                for useIndex in [true, false] {
                    do {
                        let r = try MCAPReader(path: damaged, options: .init(validateCRCs: false, useIndex: useIndex,
                                                                             maxChunkSize: 1 << 20))
                        var n = 0
                        while try r.next() != nil { n += 1 }
                        XCTAssertLessThan(n, 200)
                    } catch is MCAPError {
                        // expected for most damage
                    }
                }
            }
        }
    }
}
