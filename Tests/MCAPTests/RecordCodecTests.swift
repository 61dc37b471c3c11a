import XCTest
import TestSupport
@testable import MCAP

/// Record codecs byte by byte against the spec's field tables (foxglove/mcap spec, "Records",
/// "Serialization": little-endian, uint32-prefixed strings and maps).
final class RecordCodecTests: XCTestCase {

    func encoded(_ f: (inout ByteWriter) -> Void) -> [UInt8] {
        var w = ByteWriter()
        f(&w)
        return w.bytes
    }

    func decode<T>(_ bytes: [UInt8], _ name: String, _ f: (inout FieldReader) throws -> T) throws -> T {
        try bytes.withUnsafeBytes { p in
            var r = FieldReader(UnsafeRawBufferPointer(rebasing: p[9...]), record: name, baseOffset: 9)
            let v = try f(&r)
            XCTAssertEqual(r.remaining, 0, "\(name) left bytes unread")
            return v
        }
    }

    func testHeader() throws {
        let bytes = encoded { Header(profile: "ros2", library: "tb").encode(into: &$0) }
        XCTAssertEqual(bytes, hex("01"          // opcode Header
            + "0e00000000000000"                // content length 14
            + "04000000" + "726f7332"           // profile "ros2"
            + "02000000" + "7462"))             // library "tb"
        XCTAssertEqual(try decode(bytes, "Header") { try Header(decoding: &$0) }, Header(profile: "ros2", library: "tb"))
    }

    func testChannelWithMetadata() throws {
        let c = Channel(id: 3, schemaId: 1, topic: "/a", messageEncoding: "json", metadata: ["k": "v"])
        let bytes = encoded { c.encode(into: &$0) }
        let want = hex("04" + "2000000000000000"      // opcode, length 32
            + "0300" + "0100"                           // id 3, schema_id 1
            + "02000000" + "2f61"                       // topic "/a"
            + "04000000" + "6a736f6e"                   // message_encoding "json"
            + "0a000000" + "01000000" + "6b" + "01000000" + "76")  // map {k: v}, 10 bytes
        XCTAssertEqual(bytes, want)
        XCTAssertEqual(try decode(bytes, "Channel") { try Channel(decoding: &$0) }, c)
    }

    func testMessage() throws {
        let m = Message(channelId: 2, sequence: 7, logTime: 0x0102030405060708, publishTime: 9, data: [0xAA, 0xBB])
        let bytes = encoded { m.encode(into: &$0) }
        XCTAssertEqual(bytes, hex("05" + "1800000000000000"   // opcode, length 24
            + "0200" + "07000000"                              // channel 2, sequence 7
            + "0807060504030201" + "0900000000000000"          // log_time, publish_time
            + "aabb"))                                         // data, no length prefix
        XCTAssertEqual(try decode(bytes, "Message") { try Message(decoding: &$0) }, m)
    }

    func testSchemaFooterDataEndSummaryOffset() throws {
        let s = Schema(id: 1, name: "S", encoding: "protobuf", data: [1, 2, 3])
        let sb = encoded { s.encode(into: &$0) }
        XCTAssertEqual(sb, hex("03" + "1a00000000000000" + "0100" + "01000000" + "53"
            + "08000000" + "70726f746f627566" + "03000000" + "010203"))
        XCTAssertEqual(try decode(sb, "Schema") { try Schema(decoding: &$0) }, s)

        let f = Footer(summaryStart: 0x10, summaryOffsetStart: 0x20, summaryCRC: 0xDEADBEEF)
        let fb = encoded { f.encode(into: &$0) }
        XCTAssertEqual(fb, hex("02" + "1400000000000000" + "1000000000000000" + "2000000000000000" + "efbeadde"))
        XCTAssertEqual(fb.count, Footer.recordSize)
        XCTAssertEqual(try decode(fb, "Footer") { try Footer(decoding: &$0) }, f)

        let d = DataEnd(dataSectionCRC: 0x01020304)
        XCTAssertEqual(encoded { d.encode(into: &$0) }, hex("0f" + "0400000000000000" + "04030201"))

        let o = SummaryOffset(groupOpcode: 4, groupStart: 100, groupLength: 50)
        let ob = encoded { o.encode(into: &$0) }
        XCTAssertEqual(ob, hex("0e" + "1100000000000000" + "04" + "6400000000000000" + "3200000000000000"))
        XCTAssertEqual(try decode(ob, "SummaryOffset") { try SummaryOffset(decoding: &$0) }, o)
    }

    func testIndexAndStatisticsRoundTrips() throws {
        let ci = ChunkIndex(messageStartTime: 1, messageEndTime: 2, chunkStartOffset: 3, chunkLength: 4,
                            messageIndexOffsets: [1: 10, 2: 20], messageIndexLength: 5, compression: "zstd",
                            compressedSize: 6, uncompressedSize: 7)
        XCTAssertEqual(try decode(encoded { ci.encode(into: &$0) }, "ChunkIndex") { try ChunkIndex(decoding: &$0) }, ci)
        var st = Statistics()
        st.messageCount = 9
        st.schemaCount = 1
        st.channelCount = 2
        st.chunkCount = 3
        st.messageStartTime = 5
        st.messageEndTime = 6
        st.channelMessageCounts = [1: 4, 2: 5]
        XCTAssertEqual(try decode(encoded { st.encode(into: &$0) }, "Statistics") { try Statistics(decoding: &$0) }, st)
        let mi = MessageIndex(channelId: 4, records: [.init(logTime: 1, offset: 0), .init(logTime: 2, offset: 31)])
        let mb = encoded { mi.encode(into: &$0) }
        XCTAssertEqual(Array(mb[9..<15]), hex("0400" + "20000000"))  // channel 4, array of 32 bytes
        XCTAssertEqual(try decode(mb, "MessageIndex") { try MessageIndex(decoding: &$0) }, mi)
        let md = MetadataIndex(offset: 1, length: 2, name: "n")
        XCTAssertEqual(try decode(encoded { md.encode(into: &$0) }, "MetadataIndex") { try MetadataIndex(decoding: &$0) }, md)
        let meta = Metadata(name: "m", metadata: ["a": "1", "b": ""])
        XCTAssertEqual(try decode(encoded { meta.encode(into: &$0) }, "Metadata") { try Metadata(decoding: &$0) }, meta)
        let ai = AttachmentIndex(offset: 1, length: 2, logTime: 3, createTime: 4, dataSize: 5, name: "a", mediaType: "t")
        XCTAssertEqual(try decode(encoded { ai.encode(into: &$0) }, "AttachmentIndex") { try AttachmentIndex(decoding: &$0) }, ai)
    }

    func testAttachmentCRC() throws {
        let a = Attachment(logTime: 1, createTime: 2, name: "x.txt", mediaType: "text/plain", data: Array("hi".utf8))
        var bytes = encoded { a.encode(into: &$0) }
        XCTAssertEqual(try decode(bytes, "Attachment") { try Attachment(decoding: &$0, validateCRC: true) }, a)
        bytes[bytes.count - 6] ^= 0xFF  // a data byte
        XCTAssertThrowsError(try decode(bytes, "Attachment") { try Attachment(decoding: &$0, validateCRC: true) }) {
            XCTAssertEqual(($0 as? MCAPError)?.kind, .crcMismatch)
        }
    }

    /// Every strict prefix of a record's content is a typed `malformed` error, never a crash
    /// or an oversized allocation.
    func testEveryTruncatedContentIsMalformed() throws {
        let records: [(String, [UInt8], (inout FieldReader) throws -> Any)] = [
            ("Channel", encoded { Channel(id: 1, schemaId: 0, topic: "/t", messageEncoding: "json", metadata: ["a": "b"]).encode(into: &$0) },
             { try Channel(decoding: &$0) }),
            ("Schema", encoded { Schema(id: 1, name: "s", encoding: "e", data: [1, 2]).encode(into: &$0) }, { try Schema(decoding: &$0) }),
            ("ChunkIndex", encoded { ChunkIndex(messageStartTime: 1, messageEndTime: 2, chunkStartOffset: 3, chunkLength: 4, messageIndexOffsets: [1: 1], messageIndexLength: 5, compression: "zstd", compressedSize: 6, uncompressedSize: 7).encode(into: &$0) },
             { try ChunkIndex(decoding: &$0) }),
            ("Statistics", encoded { Statistics().encode(into: &$0) }, { try Statistics(decoding: &$0) }),
        ]
        for (name, bytes, decodeFn) in records {
            let content = Array(bytes[9...])
            for cut in 0..<content.count {
                let prefix = Array(content[..<cut])
                XCTAssertThrowsError(try prefix.withUnsafeBytes { p -> Any in
                    var r = FieldReader(p, record: name, baseOffset: 0)
                    return try decodeFn(&r)
                }, "\(name) cut at \(cut)") { XCTAssertEqual(($0 as? MCAPError)?.kind, .malformed) }
            }
        }
        // A string length far beyond the record is refused before allocating.
        let huge: [UInt8] = [0xFF, 0xFF, 0xFF, 0x7F, 0x41]
        XCTAssertThrowsError(try huge.withUnsafeBytes { p in
            var r = FieldReader(p, record: "X", baseOffset: 100)
            _ = try r.string("name")
        }) { XCTAssertEqual(($0 as? MCAPError)?.offset, 104) }
    }

    func testCRC32KnownVector() {
        // The standard check value of CRC-32/ISO-HDLC.
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        var c = CRC32()
        c.update(Array("12345".utf8))
        c.update(Array("6789".utf8))
        XCTAssertEqual(c.value, 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([]), 0)
    }
}

/// The folding CRC against a plain bitwise CRC-32 at every alignment and many lengths (the
/// folded path starts at 64 bytes; tails and offsets exercise the zlib hand-off).
final class CRC32FoldTests: XCTestCase {
    func bitwise(_ bytes: ArraySlice<UInt8>, _ start: UInt32 = 0) -> UInt32 {
        var crc = ~start
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    func testFoldingMatchesBitwiseAtEveryAlignment() {
        var state: UInt64 = 0x1234_5678
        let data: [UInt8] = (0..<4200).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        for offset in 0..<17 {
            for length in [0, 1, 15, 16, 17, 63, 64, 65, 79, 80, 127, 128, 129, 200, 1000, 4096 + 3] where offset + length <= data.count {
                let slice = data[offset..<(offset + length)]
                let want = bitwise(slice)
                let got = slice.withUnsafeBytes { CRC32.checksum($0) }
                XCTAssertEqual(got, want, "offset \(offset) length \(length)")
                // Continuing from a previous value (two updates) gives the same result.
                var c = CRC32()
                let cut = length / 3
                slice.prefix(cut).withUnsafeBytes { c.update($0) }
                slice.dropFirst(cut).withUnsafeBytes { c.update($0) }
                XCTAssertEqual(c.value, want, "split offset \(offset) length \(length)")
            }
        }
    }
}
