import WebRTCData
import XCTest
@testable import RoomServer

/// A later publisher offer without an ICE restart is answered on the running connection, with
/// our parameters unchanged; anything else is not a renegotiation.
final class PublisherRenegotiationTests: XCTestCase {
    private let clientFingerprint = SDPFingerprint(algorithm: "sha-256", bytes: Array(repeating: 0xAB, count: 32))
    private let serverFingerprint = SDPFingerprint(algorithm: "sha-256", bytes: Array(repeating: 0xCD, count: 32))

    /// An SDK-shaped offer: a recvonly audio section first, then the data section (mid "1").
    private func clientOffer(ufrag: String = "Cl1e", pwd: String = "client-password-0123456789",
                             fingerprint: SDPFingerprint? = nil, setup: SDPSetup = .actpass, version: Int = 2) -> SessionDescription {
        var offer = SessionDescription.dataChannelOffer(
            DataChannelParameters(iceUfrag: ufrag, icePwd: pwd, fingerprint: fingerprint ?? clientFingerprint), sessionID: 42)
        offer.origin = "- 42 \(version) IN IP4 127.0.0.1"
        var audio = MediaDescription(kind: "audio", port: 9, proto: "UDP/TLS/RTP/SAVPF", formats: ["111"])
        audio.mid = "0"
        audio.direction = "recvonly"
        offer.media[0].mid = "1"
        offer.media[0].setup = setup
        offer.media.insert(audio, at: 0)
        offer.groups = [SDPGroup(semantics: "BUNDLE", mids: ["0", "1"])]
        return offer
    }

    private func firstAnswer(to offer: SessionDescription) throws -> SessionDescription {
        try offer.dataChannelAnswer(DataChannelParameters(iceUfrag: "Srv1", icePwd: "server-password-0123456789", iceLite: true,
                                                          fingerprint: serverFingerprint, preferredSetup: .active,
                                                          endOfCandidates: true), sessionID: 7)
    }

    func testASameCredentialsOfferIsAnsweredWithTheSameParameters() throws {
        let offer = clientOffer()
        let answer = try firstAnswer(to: offer)
        let again = clientOffer(version: 3)
        let reanswer = try XCTUnwrap(PublisherRenegotiation.reanswer(again, previousOffer: offer, previousAnswer: answer))
        XCTAssertEqual(reanswer.media.count, 2)
        XCTAssertTrue(reanswer.media[0].isRejected)
        let data = reanswer.media[1]
        XCTAssertEqual(data.mid, "1")
        XCTAssertEqual(reanswer.iceCredentials(of: data)?.ufrag, "Srv1")
        XCTAssertEqual(reanswer.iceCredentials(of: data)?.pwd, "server-password-0123456789")
        XCTAssertEqual(reanswer.fingerprints(of: data), [serverFingerprint])
        XCTAssertEqual(reanswer.setup(of: data), answer.setup(of: answer.media[1]))
        XCTAssertEqual(data.sctpPort, answer.media[1].sctpPort)
        XCTAssertTrue(reanswer.iceLite)
        XCTAssertEqual(reanswer.origin, "- 7 3 IN IP4 127.0.0.1", "same session, next version")
        // It parses back as what it is.
        XCTAssertEqual(try SessionDescription(parsing: reanswer.sdpText).iceCredentials(of: data)?.ufrag, "Srv1")
    }

    func testAnythingElseIsNotARenegotiation() throws {
        let offer = clientOffer()
        let answer = try firstAnswer(to: offer)
        XCTAssertNil(PublisherRenegotiation.reanswer(clientOffer(ufrag: "New1"), previousOffer: offer, previousAnswer: answer),
                     "ICE restart")
        XCTAssertNil(PublisherRenegotiation.reanswer(clientOffer(fingerprint: serverFingerprint), previousOffer: offer,
                                                     previousAnswer: answer), "another certificate")
        // We took `active`: an offer insisting on `active` too would swap DTLS roles.
        XCTAssertEqual(answer.setup(of: answer.media[1]), .active)
        XCTAssertNil(PublisherRenegotiation.reanswer(clientOffer(setup: .active), previousOffer: offer, previousAnswer: answer))
        XCTAssertNotNil(PublisherRenegotiation.reanswer(clientOffer(setup: .passive), previousOffer: offer, previousAnswer: answer))
        var moved = clientOffer()
        moved.media.swapAt(0, 1)
        XCTAssertNil(PublisherRenegotiation.reanswer(moved, previousOffer: offer, previousAnswer: answer), "data section moved")
    }
}
