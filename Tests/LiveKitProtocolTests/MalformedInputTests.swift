import Synthetic
import Codecs
import Foundation
import XCTest
@testable import LiveKitProtocol

/// Bounded random corruption of valid inputs (fixed seed, so a failure reproduces): every
/// decoder must return a value or throw `LiveKitProtocolError`, never crash or hang.
final class MalformedInputTests: XCTestCase {
    /// SplitMix64: small, seedable, good enough to pick bytes to corrupt.
    private struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    private func mutations(of input: [UInt8], count: Int, seed: UInt64) -> [[UInt8]] {
        var rng = SplitMix(state: seed)
        return (0..<count).map { _ in
            var bytes = input
            switch Int.random(in: 0..<4, using: &rng) {
            case 0 where !bytes.isEmpty:   // flip bits
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                }
            case 1:                        // truncate
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng)))
            case 2:                        // insert random bytes
                let at = Int.random(in: 0...bytes.count, using: &rng)
                bytes.insert(contentsOf: (0..<Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: at)
            default:                       // duplicate a slice
                if bytes.count > 2 {
                    let a = Int.random(in: 0..<bytes.count - 1, using: &rng)
                    let b = Int.random(in: a..<bytes.count, using: &rng)
                    bytes.append(contentsOf: bytes[a...b])
                }
            }
            return bytes
        }
    }

    func testCorruptedTokens() throws {
        let token = try AccessToken.sign(AccessTokenClaims(apiKey: "devkey", identity: "a", video: VideoGrant(roomJoin: true, room: "r")),
                                         secret: "secret")
        var accepted = 0
        for bytes in mutations(of: Array(token.utf8), count: 3000, seed: 1) {
            do {
                _ = try AccessToken.verify(String(decoding: bytes, as: UTF8.self), keys: ["devkey": "secret"])
                accepted += 1
            } catch {
                // typed by the signature
            }
        }
        // Only mutations that leave the decoded header, payload and signature bytes the same can
        // pass (e.g. padding-bit changes in the last base64url character); never most of them.
        XCTAssertLessThan(accepted, 300)
    }

    func testCorruptedJoinRequests() throws {
        var join = Livekit_JoinRequest()
        join.clientInfo.sdk = .python
        // The start of the SDK's offer: long enough for gzip to matter, short enough for debug builds.
        join.publisherOffer.sdp = String(try SharedTestVectors.text("plain", "publisher-offer-single-pc.sdp").prefix(2000))
        for gzip in [false, true] {
            let value = JoinRequestQuery.encode(join, gzip: gzip)
            var wrapped: [UInt8] = Base64.decodeURL(value) ?? []
            for bytes in mutations(of: wrapped, count: 800, seed: gzip ? 2 : 3) {
                _ = try? JoinRequestQuery.decode(Base64.encodeURL(bytes))
            }
            wrapped = Array(value.utf8)
            for bytes in mutations(of: wrapped, count: 300, seed: 4) {
                _ = try? SignalConnectRequest.parse(target: "/rtc/v1?join_request=" + String(decoding: bytes, as: UTF8.self),
                                                    authorization: nil)
            }
        }
    }

    func testCorruptedSignalFramesAndDataPackets() throws {
        var response = Livekit_SignalResponse()
        response.join.room.name = "lab"
        response.join.otherParticipants = [Livekit_ParticipantInfo.with {
            $0.identity = "pub1"
            $0.dataTracks = [Livekit_DataTrackInfo.with { $0.pubHandle = 1; $0.sid = "DTR_x"; $0.name = "imu" }]
        }]
        for bytes in mutations(of: SignalFrame.encode(response), count: 3000, seed: 5) {
            _ = try? SignalFrame.decodeResponse(bytes)
            _ = try? SignalFrame.decodeRequest(bytes)
        }
        var packet = Livekit_DataPacket()
        packet.user.payload = Data(repeating: 7, count: 64)
        packet.destinationIdentities = ["b"]
        for bytes in mutations(of: SignalFrame.encode(packet), count: 3000, seed: 6) {
            _ = try? RelayedDataPacket.relay(bytes, channel: .reliable, senderIdentity: "a", senderSid: "PA_a")
        }
    }
}
