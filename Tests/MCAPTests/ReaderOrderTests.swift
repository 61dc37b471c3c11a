import Foundation
import XCTest
@testable import MCAP

/// What order the reader hands records out in: schemas before the channels that name them,
/// channels before their messages, and messages by log_time when asked (spec "Summary Section",
/// "Chunk Index").
final class ReaderOrderTests: XCTestCase {
    var dir: String = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "mcap-order-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func readAll(_ path: String, _ options: MCAPReader.Options = .init()) throws -> (MCAPReader, [Record]) {
        let r = try MCAPReader(path: path, options: options)
        var out: [Record] = []
        while let rec = try r.next() { out.append(rec) }
        return (r, out)
    }

    /// Position of each kind of record, as "schema 1", "channel 2", "message 2".
    func labels(_ records: [Record]) -> [String] {
        records.map {
            switch $0 {
            case .schema(let s): return "schema \(s.id)"
            case .channel(let c): return "channel \(c.id)"
            case .message(let m): return "message \(m.channelId)"
            case .metadata: return "metadata"
            case .attachment: return "attachment"
            }
        }
    }

    /// A summary that repeats channels but not schemas: the channel must not come out before
    /// its schema, which only a chunk holds.
    func testSummaryChannelWaitsForASchemaOnlyInAChunk() throws {
        let path = dir + "/chunk-schema.mcap"
        let w = try MCAPWriter(path: path, options: .init(compression: .none, chunkSize: 64))
        w.summaryHoldsSchemas = false
        let plain = try w.addChannel(topic: "/plain", messageEncoding: "json")
        try w.addMessage(channelId: plain, sequence: 0, logTime: 1, publishTime: 1, data: [1])
        try w.flushChunk()
        let s = try w.addSchema(name: "pkg.Pose", encoding: "protobuf", data: [9, 9])
        let posed = try w.addChannel(topic: "/pose", messageEncoding: "protobuf", schemaId: s)
        for i in 0..<3 {
            try w.addMessage(channelId: posed, sequence: UInt32(i), logTime: UInt64(10 + i), publishTime: 5, data: [UInt8(i)])
        }
        try w.finish()

        let (reader, records) = try readAll(path)
        XCTAssertEqual(reader.mode, .indexed)
        XCTAssertNil(try reader.readSummary()?.schemas[s], "the summary must lack the schema for this test")
        let l = labels(records)
        let schemaAt = try XCTUnwrap(l.firstIndex(of: "schema \(s)"))
        let channelAt = try XCTUnwrap(l.firstIndex(of: "channel \(posed)"))
        let firstMessageAt = try XCTUnwrap(l.firstIndex(of: "message \(posed)"))
        XCTAssertLessThan(schemaAt, channelAt, "\(l)")
        XCTAssertLessThan(channelAt, firstMessageAt, "\(l)")
        XCTAssertEqual(l.filter { $0 == "channel \(posed)" }.count, 1, "\(l)")
        XCTAssertEqual(l.filter { $0 == "schema \(s)" }.count, 1, "\(l)")
        XCTAssertEqual(reader.messagesRead, 4)
    }

    /// Messages on chunks whose times overlap: file order by default, log_time order (ties in
    /// file order) with `.logTime`; the linear path ignores the option.
    func testLogTimeOrderMergesOverlappingChunks() throws {
        let path = dir + "/overlap.mcap"
        let w = try MCAPWriter(path: path, options: .init(compression: .zstd, chunkSize: 1 << 20))
        let a = try w.addChannel(topic: "/a", messageEncoding: "")
        let b = try w.addChannel(topic: "/b", messageEncoding: "")
        var written: [Message] = []
        func put(_ channel: UInt16, _ time: UInt64) throws {
            let m = Message(channelId: channel, sequence: UInt32(written.count), logTime: time, publishTime: 7,
                            data: [UInt8(truncatingIfNeeded: written.count)])
            try w.addMessage(channelId: m.channelId, sequence: m.sequence, logTime: m.logTime,
                             publishTime: m.publishTime, data: m.data)
            written.append(m)
        }
        // Chunk 1: 100…190 out of order inside; chunk 2: 50…250 overlapping it; chunk 3: later.
        for t in [150, 100, 190, 120, 120] { try put(a, UInt64(t)) }
        try w.flushChunk()
        for t in [250, 50, 120, 160] { try put(b, UInt64(t)) }
        try w.flushChunk()
        for t in [300, 260, 400] { try put(a, UInt64(t)) }
        try w.finish()

        func messages(_ rs: [Record]) -> [Message] {
            rs.compactMap { if case .message(let m) = $0 { return m } else { return nil } }
        }
        XCTAssertEqual(messages(try readAll(path).1), written)
        let (r, byTime) = try readAll(path, .init(order: .logTime))
        XCTAssertEqual(r.mode, .indexed)
        let expected = written.enumerated().sorted { ($0.element.logTime, $0.offset) < ($1.element.logTime, $1.offset) }
            .map(\.element)
        XCTAssertEqual(messages(byTime), expected)
        XCTAssertEqual(r.messagesRead, written.count)
        let l = labels(byTime)
        XCTAssertLessThan(try XCTUnwrap(l.firstIndex(of: "channel \(b)")), try XCTUnwrap(l.firstIndex(of: "message \(b)")))
        XCTAssertEqual(messages(try readAll(path, .init(useIndex: false, order: .logTime)).1), written)
    }

    /// Log-time order holds overlapping chunks up to a limit, then stops with `overLimit`.
    func testLogTimeOrderIsBoundedInMemory() throws {
        let path = dir + "/held.mcap"
        let w = try MCAPWriter(path: path, options: .init(compression: .none, chunkSize: 200))
        let a = try w.addChannel(topic: "/a", messageEncoding: "")
        // Every chunk spans early and late times, so all of them overlap.
        for i in 0..<40 {
            try w.addMessage(channelId: a, sequence: 0, logTime: UInt64(i % 2 == 0 ? i : 1000 - i), publishTime: 0,
                             data: [UInt8](repeating: 1, count: 60))
        }
        try w.finish()
        XCTAssertNoThrow(try readAll(path, .init(order: .logTime)))
        XCTAssertThrowsError(try readAll(path, .init(order: .logTime, maxHeldChunkBytes: 500))) { error in
            XCTAssertEqual((error as? MCAPError)?.kind, .overLimit, "\(error)")
        }
        XCTAssertNoThrow(try readAll(path, .init(order: .file, maxHeldChunkBytes: 500)))
    }

    /// Metadata and attachments come before the first message in log-time order, once each.
    func testLogTimeOrderKeepsMetadataAndAttachments() throws {
        let path = dir + "/meta.mcap"
        let w = try MCAPWriter(path: path, options: .init(chunkSize: 32))
        let a = try w.addChannel(topic: "/a", messageEncoding: "")
        try w.addMessage(channelId: a, sequence: 0, logTime: 20, publishTime: 20, data: [1])
        try w.addMetadata(Metadata(name: "m", metadata: ["k": "v"]))
        try w.addAttachment(Attachment(logTime: 1, createTime: 2, name: "x", mediaType: "t", data: [3]))
        try w.addMessage(channelId: a, sequence: 1, logTime: 10, publishTime: 10, data: [2])
        try w.finish()
        let l = labels(try readAll(path, .init(order: .logTime)).1)
        XCTAssertEqual(l, ["channel \(a)", "metadata", "attachment", "message \(a)", "message \(a)"])
    }
}
