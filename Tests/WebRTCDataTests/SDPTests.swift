import XCTest
@testable import WebRTCData

/// SDP against the offers LiveKit's SDK (libwebrtc) and aiortc really sent (README.md, "Tests").
final class SDPTests: XCTestCase {
    let ourFingerprint = SDPFingerprint(algorithm: "sha-256", bytes: Array(0..<32))

    func testSinglePCOfferFromTheSDKParses() throws {
        let offer = try SessionDescription(parsing: try testVector("plain/publisher-offer-single-pc.sdp"))
        XCTAssertEqual(offer.media.count, 7)
        XCTAssertEqual(offer.media.map(\.kind), ["audio", "audio", "audio", "video", "video", "video", "application"])
        XCTAssertEqual(offer.media.map(\.mid), ["0", "1", "2", "3", "4", "5", "6"])
        XCTAssertEqual(offer.bundle?.mids, ["0", "1", "2", "3", "4", "5", "6"])
        XCTAssertEqual(offer.media.prefix(6).map(\.direction), Array(repeating: "recvonly", count: 6))
        let data = try XCTUnwrap(offer.dataChannelMedia)
        XCTAssertEqual(data.mid, "6")
        XCTAssertEqual(data.proto, "UDP/DTLS/SCTP")
        XCTAssertEqual(data.sctpPort, 5000)
        XCTAssertEqual(data.maxMessageSize, 262_144)
        XCTAssertEqual(data.setup, .actpass)
        XCTAssertEqual(data.iceUfrag, "Jqih")
        XCTAssertEqual(data.icePwd, "O/HgXS0QwxIefxiMfFcdr0PM")
        XCTAssertEqual(data.iceOptions, ["trickle", "goog-sped-v1"])
        XCTAssertEqual(data.fingerprints.first?.algorithm, "sha-256")
        XCTAssertEqual(data.fingerprints.first?.hexValue,
                       "D4:AD:DB:13:4E:04:60:74:F7:33:AF:99:C0:BC:88:17:61:2D:D9:FC:66:7F:FA:00:C4:70:51:8C:9F:BB:DA:31")
        // Unknown attributes are kept, not fatal.
        XCTAssertTrue(data.attributes.contains(SDPAttribute("sctp-init", "AQAAHocscCkAUAAA//////BwLmzAAAAEgAgABoLA")))
        XCTAssertTrue(offer.attributes.contains(SDPAttribute("extmap-allow-mixed")))
        XCTAssertEqual(offer.media[3].attributes.filter { $0.name == "rtpmap" }.count, 23)
    }

    func testCapturedOffersRoundTrip() throws {
        for path in ["plain/publisher-offer-single-pc.sdp", "dual-pc/publisher-offer.sdp",
                     "dual-pc/server-subscriber-offer-aiortc.sdp"] {
            let parsed = try SessionDescription(parsing: try testVector(path))
            let generated = parsed.sdpText
            let reparsed = try SessionDescription(parsing: generated)
            XCTAssertEqual(reparsed, parsed, path)
            XCTAssertEqual(reparsed.sdpText, generated, path)
            XCTAssertTrue(generated.hasSuffix("\r\n"))
        }
    }

    func testAiortcOfferCarriesCandidatesAndSeveralFingerprints() throws {
        let offer = try SessionDescription(parsing: try testVector("dual-pc/server-subscriber-offer-aiortc.sdp"))
        let data = try XCTUnwrap(offer.dataChannelMedia)
        XCTAssertEqual(data.port, 56664)
        XCTAssertEqual(data.connection, "IN IP4 10.99.0.1")
        XCTAssertTrue(data.endOfCandidates)
        XCTAssertEqual(data.candidates.count, 1)
        XCTAssertEqual(data.candidates[0].transportAddress, TransportAddress(host: "10.99.0.1", port: 56664))
        XCTAssertEqual(data.candidates[0].priority, 2_130_706_431)
        XCTAssertEqual(data.candidates[0].kind, .host)
        XCTAssertEqual(data.fingerprints.map(\.algorithm), ["sha-256", "sha-384", "sha-512"])
        XCTAssertEqual(data.fingerprints.map(\.bytes.count), [32, 48, 64])
        XCTAssertEqual(offer.iceCredentials(of: data)?.ufrag, "fA1e")
    }

    func testAnswerToTheSDKOfferRejectsMediaAndKeepsMidsInOrder() throws {
        let offer = try SessionDescription(parsing: try testVector("plain/publisher-offer-single-pc.sdp"))
        let candidate = ICECandidate(host: try XCTUnwrap(TransportAddress(host: "10.99.0.2", port: 7882)), localPreference: 65535)
        let parameters = DataChannelParameters(iceUfrag: "srv1", icePwd: "0123456789abcdefghijkl", iceLite: true,
                                               fingerprint: ourFingerprint, candidates: [candidate], endOfCandidates: true)
        let answer = try offer.dataChannelAnswer(parameters)
        let text = answer.sdpText
        let reparsed = try SessionDescription(parsing: text)
        XCTAssertEqual(reparsed, answer)
        XCTAssertEqual(reparsed.media.map(\.mid), ["0", "1", "2", "3", "4", "5", "6"])
        XCTAssertEqual(reparsed.media.map(\.kind), offer.media.map(\.kind))
        for rejected in reparsed.media.prefix(6) {
            XCTAssertEqual(rejected.port, 0)
            XCTAssertEqual(rejected.direction, "inactive")
            XCTAssertTrue(rejected.candidates.isEmpty)
        }
        XCTAssertEqual(reparsed.bundle?.mids, ["6"])
        XCTAssertTrue(reparsed.iceLite)
        let data = try XCTUnwrap(reparsed.dataChannelMedia)
        XCTAssertEqual(data.mid, "6")
        XCTAssertEqual(data.setup, .active)
        XCTAssertEqual(data.sctpPort, 5000)
        XCTAssertEqual(data.maxMessageSize, 262_144)
        XCTAssertEqual(data.fingerprints, [ourFingerprint])
        XCTAssertEqual(data.candidates, [candidate])
        XCTAssertTrue(data.endOfCandidates)
        XCTAssertTrue(text.contains("m=audio 0 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"))
        XCTAssertTrue(text.contains("a=group:BUNDLE 6\r\n"))
        XCTAssertTrue(text.contains("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"))
    }

    func testAnswerSetupFollowsTheOffer() throws {
        var offer = SessionDescription.dataChannelOffer(
            DataChannelParameters(iceUfrag: "abcd", icePwd: "0123456789abcdefghijkl", fingerprint: ourFingerprint))
        XCTAssertEqual(offer.media[0].setup, .actpass)
        let parameters = DataChannelParameters(iceUfrag: "efgh", icePwd: "0123456789abcdefghijkl", fingerprint: ourFingerprint,
                                               preferredSetup: .passive)
        XCTAssertEqual(try offer.dataChannelAnswer(parameters).media[0].setup, .passive)
        offer.media[0].setup = .active
        XCTAssertEqual(try offer.dataChannelAnswer(parameters).media[0].setup, .passive)
        offer.media[0].setup = .passive
        XCTAssertEqual(try offer.dataChannelAnswer(parameters).media[0].setup, .active)
        let reparsed = try SessionDescription(parsing: offer.sdpText)
        XCTAssertEqual(reparsed, offer)
    }

    func testOfferWithoutDataChannelCannotBeAnswered() throws {
        let offer = try SessionDescription(parsing: "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n")
        let parameters = DataChannelParameters(iceUfrag: "efgh", icePwd: "0123456789abcdefghijkl", fingerprint: ourFingerprint)
        XCTAssertThrowsError(try offer.dataChannelAnswer(parameters)) {
            XCTAssertEqual(($0 as? WebRTCDataError)?.reason, .noDataChannel)
        }
    }

    func testMalformedLinesAreTypedErrorsWithLineNumbers() {
        func failure(_ text: String) -> WebRTCDataError? {
            do { _ = try SessionDescription(parsing: text); return nil } catch { return error }
        }
        let head = "v=0\no=- 1 2 IN IP4 0.0.0.0\ns=-\nt=0 0\n"
        XCTAssertEqual(failure(head + "garbage\n")?.location, "line 5")
        XCTAssertEqual(failure(head + "garbage\n")?.reason, .badLine)
        XCTAssertEqual(failure("o=- 1 2 IN IP4 0.0.0.0\n")?.reason, .badLine)
        XCTAssertEqual(failure("")?.reason, .missingLine)
        XCTAssertEqual(failure(head + "m=application\n")?.location, "line 5")
        XCTAssertEqual(failure(head + "m=application 99999 UDP/DTLS/SCTP webrtc-datachannel\n")?.reason, .badValue)
        let media = head + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\n"
        XCTAssertEqual(failure(media + "a=sctp-port:abc\n")?.location, "line 6")
        XCTAssertEqual(failure(media + "a=max-message-size:-1\n")?.reason, .badValue)
        XCTAssertEqual(failure(media + "a=setup:sideways\n")?.reason, .badValue)
        XCTAssertEqual(failure(media + "a=fingerprint:sha-256 AB:CD\n")?.reason, .badValue)
        XCTAssertEqual(failure(media + "a=fingerprint:sha-256 ZZ\n")?.location, "line 6")
        XCTAssertEqual(failure(media + "a=candidate:1 1 udp x 1.2.3.4 5 typ host\n")?.reason, .badCandidate)
        XCTAssertEqual(failure(media + "a=ice-ufrag\n")?.reason, .badValue)
        // Found by fuzzing: a mid with a space could not be listed in a=group and read back.
        XCTAssertEqual(failure(media + "a=mid:3 tpmap\n")?.location, "line 6")
        XCTAssertEqual(failure(media + "a=ice-pwd:has space\n")?.reason, .badValue)
        // Unknown lines and attributes are kept.
        let kept = try? SessionDescription(parsing: media + "a=x-unknown:42\nb=AS:30\na=flag\n")
        XCTAssertEqual(kept?.media.first?.attributes, [SDPAttribute("x-unknown", "42"), SDPAttribute("flag")])
        XCTAssertEqual(kept?.media.first?.otherLines, ["b=AS:30"])
    }

    func testCandidateLineAndTrickleJSON() throws {
        let line = "candidate:3442447574 1 udp 2122260223 10.99.0.2 54321 typ host generation 0 ufrag Jqih network-id 1"
        let candidate = try ICECandidate(parsing: line)
        XCTAssertEqual(candidate.foundation, "3442447574")
        XCTAssertEqual(candidate.priority, 2_122_260_223)
        XCTAssertEqual(candidate.transportAddress, TransportAddress(host: "10.99.0.2", port: 54321))
        XCTAssertEqual(candidate.extensions.map(\.name), ["generation", "ufrag", "network-id"])
        XCTAssertEqual(candidate.sdpValue, line)
        let srflx = try ICECandidate(parsing: "a=candidate:1 1 UDP 1686052607 203.0.113.7 40000 typ srflx raddr 10.0.0.2 rport 50000")
        XCTAssertEqual(srflx.kind, .srflx)
        XCTAssertEqual(srflx.relatedAddress, "10.0.0.2")
        XCTAssertEqual(srflx.relatedPort, 50000)
        let mdns = try ICECandidate(parsing: "candidate:1 1 udp 2122260223 0a1b2c3d-aaaa.local 54321 typ host")
        XCTAssertNil(mdns.transportAddress)

        let trickle = ICECandidateInit(candidate, sdpMid: "6", sdpMLineIndex: 6)
        let json = trickle.json()
        XCTAssertEqual(json, #"{"candidate":"\#(line)","sdpMLineIndex":6,"sdpMid":"6"}"#)
        let back = try ICECandidateInit(json: json)
        XCTAssertEqual(back, trickle)
        XCTAssertEqual(try back.parsedCandidate(), candidate)
        XCTAssertTrue(try ICECandidateInit(json: #"{"candidate":"","sdpMid":"0","sdpMLineIndex":0}"#).isEndOfCandidates)
        XCTAssertThrowsError(try ICECandidateInit(json: "{nope"))
    }

    func testHostCandidatePriorityFollowsRFC8445() {
        // RFC 8445 §5.1.2.1: (2^24)·126 + (2^8)·65535 + (256 − 1).
        XCTAssertEqual(ICECandidate.priority(kind: .host, localPreference: 65535), 2_130_706_431)
        XCTAssertEqual(ICECandidate.priority(kind: .prflx, localPreference: 65535), 1_862_270_975)
    }
}
