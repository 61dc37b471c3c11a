import Synthetic
import TestSupport
import XCTest
@testable import DataTracks

final class DataTrackPacketTests: XCTestCase {
    typealias Packet = DataTrackPacket

    /// plain/publisher-to-server.jsonl line 1: frame 0, 8 bytes, user timestamp.
    let singleWithUserTimestamp = hex("""
        1c                  # version 0 | S=1 F=1 | X=1 | reserved 00
        00                  # reserved
        0001                # track handle 1
        0000                # sequence 0
        0000                # frame number 0
        77ac1767            # timestamp (90 kHz, random base)
        0002                # L = 2: L field + extensions + padding = 12 bytes
        02 08               # id 2 (user timestamp), length 8
        00060a24181e4000    # 1_700_000_000_000_000
        a000010203040506    # payload
        """.replacingOccurrences(of: "#[^\n]*", with: "", options: .regularExpression))

    /// e2ee/publisher-to-server.jsonl line 1: both extensions, one padding byte.
    let singleWithBothExtensions = hex("""
        1c 00 0001 0000 0000 657bc057   # single, X, handle 1, seq 0, frame 0, timestamp
        0006                            # L = 6: 28 bytes
        01 0d                           # id 1 (E2EE), length 13
        00                              # key index 0
        777ae22a 000b8667 000aabda      # IV (SDK: random u32, ms time, ms time - send count)
        02 08 00060a24181e4000          # id 2, length 8, user timestamp
        00                              # padding
        4716e711e868d9a4477889e4cbca962295466382b53e1793  # ciphertext + tag (24 bytes)
        """.replacingOccurrences(of: "#[^\n]*", with: "", options: .regularExpression))

    /// e2ee/publisher-to-server.jsonl line 2: E2EE only, three padding bytes, no user timestamp.
    let singleWithE2EEOnly = hex("""
        1c 00 0001 0001 0001 657bd228   # single, X, handle 1, seq 1, frame 1, timestamp
        0004                            # L = 4: 20 bytes
        01 0d 00                        # id 1, length 13, key index 0
        1658e597 000b869a 000aac0c      # IV
        000000                          # padding
        e814fba600c09e85b490dc0805d588f5da661f98f469c5fe0aeb0cebff14950e  # 32 bytes
        """.replacingOccurrences(of: "#[^\n]*", with: "", options: .regularExpression))

    func testDecodeUserTimestampPacket() throws {
        XCTAssertEqual(singleWithUserTimestamp.count, 32)
        let p = try Packet(decoding: singleWithUserTimestamp)
        XCTAssertEqual(p.header.marker, .single)
        XCTAssertEqual(p.header.handle, 1)
        XCTAssertEqual(p.header.sequence, 0)
        XCTAssertEqual(p.header.frameNumber, 0)
        XCTAssertEqual(p.header.timestamp, 0x77ac_1767)
        XCTAssertEqual(p.header.extensions.userTimestamp, 1_700_000_000_000_000)
        XCTAssertNil(p.header.extensions.e2ee)
        XCTAssertEqual(p.header.encodedLength, 24)
        XCTAssertEqual(Array(p.payload), hex("a000010203040506"))
        XCTAssertEqual(p.encoded(), singleWithUserTimestamp)
    }

    func testDecodeBothExtensions() throws {
        let p = try Packet(decoding: singleWithBothExtensions)
        XCTAssertEqual(p.header.encodedLength, 40)
        XCTAssertEqual(p.header.extensions.userTimestamp, 1_700_000_000_000_000)
        let e2ee = try XCTUnwrap(p.header.extensions.e2ee)
        XCTAssertEqual(e2ee.keyIndex, 0)
        XCTAssertEqual(e2ee.iv.bytes, hex("777ae22a000b8667000aabda"))
        XCTAssertEqual(e2ee.iv.prefix, 0x777a_e22a)
        XCTAssertEqual(e2ee.iv.counter, 0x000b_8667_000a_abda)
        XCTAssertEqual(p.payload.count, 24)
        XCTAssertEqual(p.encoded(), singleWithBothExtensions)
    }

    func testDecodeE2EEOnly() throws {
        let p = try Packet(decoding: singleWithE2EEOnly)
        XCTAssertEqual(p.header.encodedLength, 32)
        XCTAssertNil(p.header.extensions.userTimestamp)
        XCTAssertEqual(p.header.extensions.e2ee?.iv.bytes, hex("1658e597000b869a000aac0c"))
        XCTAssertEqual(p.encoded(), singleWithE2EEOnly)
    }

    func testEncodeFromFields() {
        // Middle packet, no extensions: exactly the 12-byte base header.
        let header = Packet.Header(marker: .inter, handle: 0x8811, sequence: 0x4422, frameNumber: 0x4411, timestamp: 0x4422_1188)
        XCTAssertEqual(Packet(header: header, payload: [0xfa][...]).encoded(),
                       hex("00 00 8811 4422 4411 44221188 fa"))
        var start = header
        start.marker = .start
        start.extensions.userTimestamp = 0x0102_0304_0506_0708
        // 0x14 = start | X; L = 2; user timestamp; no padding needed.
        XCTAssertEqual(Packet(header: start, payload: [][...]).encoded(),
                       hex("14 00 8811 4422 4411 44221188 0002 0208 0102030405060708"))
        var final = header
        final.marker = .final
        final.extensions.e2ee = .init(keyIndex: 0xfa, iv: InitializationVector(prefix: 0x3c3c_3c3c, counter: 0x3c3c_3c3c_3c3c_3c3c))
        final.extensions.userTimestamp = 0x4411_2211_1111_8811
        // rust-sdks packet/serialize.rs test layout: 0x0c, L = 6, E2EE, user timestamp, 1 pad.
        XCTAssertEqual(Packet(header: final, payload: [][...]).encoded(),
                       hex("0c 00 8811 4422 4411 44221188 0006 010d fa 3c3c3c3c3c3c3c3c3c3c3c3c 0208 4411221111118811 00"))
    }

    func testTruncatedHeadersAreRejectedAndPayloadPrefixesDecode() throws {
        for packet in [singleWithUserTimestamp, singleWithBothExtensions, singleWithE2EEOnly] {
            let full = try Packet(decoding: packet)
            let headerLength = full.header.encodedLength
            for length in 0..<packet.count {
                let prefix = Array(packet[..<length])
                if length < headerLength {
                    XCTAssertThrowsError(try Packet(decoding: prefix), "prefix \(length)") { error in
                        guard case .truncated = error as? DataTrackError else {
                            return XCTFail("prefix \(length): \(error)")
                        }
                    }
                } else {
                    // Cutting only the payload leaves a valid, shorter packet.
                    let p = try Packet(decoding: prefix)
                    XCTAssertEqual(p.header, full.header)
                    XCTAssertEqual(p.payload.count, length - headerLength)
                }
            }
        }
    }

    func testTruncationErrorsSayWhatAndWhere() {
        XCTAssertThrowsError(try Packet(decoding: hex("1c00000100000000"))) {
            XCTAssertEqual($0 as? DataTrackError, .truncated(field: "base header", offset: 0, needed: 12, available: 8))
        }
        XCTAssertThrowsError(try Packet(decoding: hex("1c00 0001 0000 0000 77ac1767 00"))) {
            XCTAssertEqual($0 as? DataTrackError, .truncated(field: "extension length", offset: 12, needed: 2, available: 1))
        }
        XCTAssertThrowsError(try Packet(decoding: hex("1c00 0001 0000 0000 77ac1767 0002 0208 0006"))) {
            XCTAssertEqual($0 as? DataTrackError, .truncated(field: "extension block", offset: 12, needed: 12, available: 6))
        }
    }

    func testVersionAndHandleChecked() {
        var v1 = singleWithUserTimestamp
        v1[0] |= 0x20
        XCTAssertThrowsError(try Packet(decoding: v1)) { XCTAssertEqual($0 as? DataTrackError, .unsupportedVersion(1)) }
        var h0 = singleWithUserTimestamp
        h0[2] = 0
        h0[3] = 0
        XCTAssertThrowsError(try Packet(decoding: h0)) { XCTAssertEqual($0 as? DataTrackError, .invalidHandle(0)) }
    }

    func testReservedBitsIgnored() throws {
        var p = singleWithUserTimestamp
        p[0] |= 0b11
        p[1] = 0xff
        XCTAssertEqual(try Packet(decoding: p).header, try Packet(decoding: singleWithUserTimestamp).header)
    }

    func testExtensionForwardCompatibility() throws {
        let base = "04 00 0001 0002 0003 00000004"  // inter packet with X set
        // Unknown id 9 (3 bytes) before the user timestamp, then padding: both skipped/used.
        let unknown = try Packet(decoding: hex(base + "0004 09 03 aabbcc 02 08 0000000000000007 000000 ff"))
        XCTAssertEqual(unknown.header.extensions.userTimestamp, 7)
        XCTAssertEqual(Array(unknown.payload), [0xff])
        // Known id longer than known (12 bytes): the first 8 are the value, the rest skipped.
        let longer = try Packet(decoding: hex(base + "0003 02 0c 0000000000000009 ffffffff"))
        XCTAssertEqual(longer.header.extensions.userTimestamp, 9)
        // Known id shorter than known: treated as unknown.
        let shorter = try Packet(decoding: hex(base + "0001 02 04 3c3c3c3c"))
        XCTAssertNil(shorter.header.extensions.userTimestamp)
        // Padding before an extension is allowed.
        let padded = try Packet(decoding: hex(base + "0003 00 00 02 08 0000000000000005 0000"))
        XCTAssertEqual(padded.header.extensions.userTimestamp, 5)
        // Empty block (L = 0: two padding bytes).
        XCTAssertEqual(try Packet(decoding: hex(base + "0000 0000")).header.extensions, .init())
        // An extension running past its block.
        XCTAssertThrowsError(try Packet(decoding: hex(base + "0001 02 08 3c3c3c3c 3c3c3c3c"))) {
            XCTAssertEqual($0 as? DataTrackError, .malformedExtension(id: 2, offset: 14, length: 8, available: 4))
        }
        // An id with no room for its length byte.
        XCTAssertThrowsError(try Packet(decoding: hex(base + "0000 00 07"))) {
            XCTAssertEqual($0 as? DataTrackError, .malformedExtension(id: 7, offset: 15, length: 0, available: 0))
        }
    }

    func testRoundTripRandomPackets() throws {
        var rng = SplitMix64(seed: 1)
        let markers: [Packet.FrameMarker] = [.inter, .final, .start, .single]
        for _ in 0..<2_000 {
            var ext = Packet.Extensions()
            if Bool.random(using: &rng) { ext.userTimestamp = rng.next() }
            if Bool.random(using: &rng) {
                ext.e2ee = .init(keyIndex: UInt8.random(in: 0...255, using: &rng),
                                 iv: InitializationVector(prefix: UInt32.random(in: 0...UInt32.max, using: &rng), counter: rng.next()))
            }
            let header = Packet.Header(
                marker: markers.randomElement(using: &rng)!, handle: UInt16.random(in: 1...UInt16.max, using: &rng),
                sequence: UInt16.random(in: 0...UInt16.max, using: &rng), frameNumber: UInt16.random(in: 0...UInt16.max, using: &rng),
                timestamp: UInt32.random(in: 0...UInt32.max, using: &rng), extensions: ext)
            let payload = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let bytes = Packet(header: header, payload: payload[...]).encoded()
            XCTAssertEqual(bytes.count, header.encodedLength + payload.count)
            XCTAssertEqual([12, 24, 32, 40].contains(header.encodedLength), true)
            let decoded = try Packet(decoding: bytes)
            XCTAssertEqual(decoded.header, header)
            XCTAssertEqual(Array(decoded.payload), payload)
        }
    }

    /// Random bytes and mutated SDK packets never crash the decoder; whatever it accepts
    /// re-encodes to something that decodes to the same packet.
    func testFuzzNeverCrashes() throws {
        var rng = SplitMix64(seed: 0xDA7A)
        var seeds = [singleWithUserTimestamp, singleWithBothExtensions, singleWithE2EEOnly]
        seeds += try TestVectors.packets("e2ee", "publisher-to-server.jsonl").prefix(6)
        var accepted = 0
        for round in 0..<60_000 {
            var bytes: [UInt8]
            if round % 3 == 0 {
                bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if bytes.count > 3 && Bool.random(using: &rng) { bytes[0] &= 0x1f; bytes[3] |= 1 }
            } else {
                bytes = seeds.randomElement(using: &rng)!
                for _ in 0..<Int.random(in: 1...4, using: &rng) where !bytes.isEmpty {
                    let i = Int.random(in: 0..<min(bytes.count, 48), using: &rng)
                    bytes[i] = UInt8.random(in: 0...255, using: &rng)
                }
                if Bool.random(using: &rng) { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng))) }
            }
            guard let packet = try? Packet(decoding: bytes) else { continue }
            accepted += 1
            let again = try Packet(decoding: packet.encoded())
            XCTAssertEqual(again, packet)
        }
        XCTAssertGreaterThan(accepted, 1_000)
    }

    /// Every packet the SDK sent decodes, and re-encodes to exactly the SDK's bytes.
    func testEveryCapturedPacketRoundTrips() throws {
        for capture in TestVectors.captures {
            for file in ["publisher-to-server.jsonl", "server-to-subscriber.jsonl"] {
                let packets = try TestVectors.packets(capture, file)
                XCTAssertGreaterThan(packets.count, 20)
                for (i, bytes) in packets.enumerated() {
                    let p = try Packet(decoding: bytes)
                    XCTAssertLessThanOrEqual(bytes.count, Packetizer.transportMTU)
                    XCTAssertEqual(p.encoded(), bytes, "\(capture)/\(file) line \(i + 1)")
                    XCTAssertEqual(p.header.extensions.e2ee != nil, capture == "e2ee")
                }
            }
        }
    }

    /// The server rewrites bytes 2-3 and nothing else: publisher packets with the subscriber's
    /// handle are exactly what the SDK subscriber got.
    func testHandleRewriteReproducesServerForwarding() throws {
        for capture in TestVectors.captures {
            let sent = try TestVectors.packets(capture, "publisher-to-server.jsonl")
            let forwarded = try TestVectors.packets(capture, "server-to-subscriber.jsonl")
            XCTAssertEqual(sent.count, forwarded.count)
            let subscriberHandle = try Packet.handle(of: forwarded[0])
            XCTAssertEqual(subscriberHandle, ["plain": 7, "dual-pc": 1, "e2ee": 1][capture])
            for (s, f) in zip(sent, forwarded) {
                var rewritten = s
                try Packet.rewriteHandle(in: &rewritten, to: subscriberHandle)
                XCTAssertEqual(rewritten, f)
            }
        }
        var short = [UInt8](repeating: 0, count: 11)
        XCTAssertThrowsError(try Packet.rewriteHandle(in: &short, to: 3))
        var ok = singleWithUserTimestamp
        XCTAssertThrowsError(try Packet.rewriteHandle(in: &ok, to: 0)) { XCTAssertEqual($0 as? DataTrackError, .invalidHandle(0)) }
    }
}
