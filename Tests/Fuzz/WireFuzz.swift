// Targets for what a peer sends us: STUN, SDP and candidates, DCEP, SCTP packets and
// notifications, DTLS record framing, data-track packets, E2EE frames, and LiveKit's signal
// messages, access tokens and join requests.
import DataTracks
@testable import LiveKitProtocol
import SwiftProtobuf
@testable import WebRTCData

let wireTargets: [FuzzTarget] = [
    FuzzTarget(name: "stun", summary: "STUN decode, attributes, integrity/fingerprint, round trip") { bytes in
        _ = StunMessage.looksLikeStun(bytes)
        _ = DatagramKind(bytes)
        guard let message = try? StunMessage.decode(bytes) else { return }
        _ = try? message.username()
        _ = try? message.priority()
        _ = try? message.iceRole()
        _ = try? message.errorCode()
        _ = try? message.xorMappedAddress()
        _ = message.software
        _ = try? StunMessage.verifyIntegrity(bytes, key: Array("VOkJxbRl1RmTxUk/WvJxBt".utf8))
        _ = try? StunMessage.verifyFingerprint(bytes)
        let encoded = message.encode(integrityKey: [1, 2, 3], fingerprint: true)
        guard let again = try? StunMessage.decode(encoded), again == message else {
            finding("STUN round trip changed the message")
        }
        guard (try? StunMessage.verifyIntegrity(encoded, key: [1, 2, 3])) != nil,
              (try? StunMessage.verifyFingerprint(encoded)) != nil else {
            finding("our own MESSAGE-INTEGRITY/FINGERPRINT did not verify")
        }
    },
    FuzzTarget(name: "sdp", summary: "SDP parse/generate/answer, ICE candidates (text and JSON)") { bytes in
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? ICECandidate(parsing: text)
        _ = try? ICECandidateInit(json: text)
        guard let parsed = try? SessionDescription(parsing: text) else { return }
        let generated = parsed.sdpText
        guard let again = try? SessionDescription(parsing: generated), again == parsed else {
            finding("SDP round trip changed the description:\n\(generated)")
        }
        let fingerprint = SDPFingerprint(algorithm: "sha-256", bytes: Array(repeating: 0xAB, count: 32))
        if let answer = try? parsed.dataChannelAnswer(DataChannelParameters(iceUfrag: "fuzz", icePwd: "0123456789abcdefghijkl",
                                                                              fingerprint: fingerprint)) {
            guard let reparsed = try? SessionDescription(parsing: answer.sdpText), reparsed == answer else {
                finding("answer does not parse back the same:\n\(answer.sdpText)")
            }
        }
    },
    FuzzTarget(name: "dcep", summary: "DCEP OPEN/ACK (RFC 8832), round trip") { bytes in
        guard let message = try? DCEPMessage(bytes: bytes) else { return }
        if case .open(let open) = message {
            guard let encoded = try? open.encoded(), let again = try? DCEPOpen(bytes: encoded), again == open else {
                finding("DCEP OPEN round trip changed the message")
            }
            _ = open.reliability
        }
    },
    FuzzTarget(name: "sctp", summary: "SCTP packets into usrsctp through our framing; notifications") { bytes in
        guard let mode = bytes.first else { return }
        if mode & 0x80 != 0 {
            // An SCTP notification as usrsctp would hand it to us (RFC 6458 §6.1).
            guard let association = try? SCTPAssociation() else { return }
            association.handleNotification(Array(bytes.dropFirst()))
            _ = association.events()
            association.close()
            return
        }
        if mode & 0x40 != 0 {
            // Partial deliveries into the message assembler (RFC 8841 §6 size limit): whatever it
            // delivers is within the limit and is exactly the pieces since the last record end.
            var assembler = SCTPMessageAssembler(limit: 64)
            var since: [UInt8] = []
            var tooLarge = false
            for piece in Pieces(bytes, from: 1) {
                let endOfRecord = piece.first.map { $0 & 1 == 1 } ?? false
                since += piece
                tooLarge = tooLarge || since.count > 64
                let message = assembler.push(piece[...], endOfRecord: endOfRecord)
                if let message, message.count > 64 || tooLarge || message != since { finding("assembler delivered \(message.count) bytes") }
                if endOfRecord {
                    if message == nil && !tooLarge { finding("assembler dropped a message within the limit") }
                    since = []
                    tooLarge = false
                }
            }
            return
        }
        // Raw packets first (framing and checksum checks), then the same with a valid CRC32c so
        // usrsctp parses the chunks; bit 0 of the mode byte starts the association first.
        guard let association = try? SCTPAssociation(mtu: 1200, maxQueuedBytes: 1 << 16) else { return }
        if mode & 1 != 0 { try? association.connect() }
        for var packet in Pieces(bytes, from: 1).prefix(32) {
            association.receive(packet)
            if packet.count >= 12 {
                SCTPPacketHeader.fillChecksum(&packet)
                association.receive(packet)
            }
            association.service()
            _ = association.outgoingPackets()
            _ = association.events()
        }
        association.close()
    },
    FuzzTarget(name: "dtls-records", summary: "DTLS record framing of a datagram (RFC 6347 §4.1)") { bytes in
        guard let ranges = try? DTLSRecordHeader.records(in: bytes) else { return }
        var end = 0
        for range in ranges {
            if range.lowerBound != end || range.upperBound > bytes.count || range.isEmpty { finding("record ranges \(ranges) over \(bytes.count) bytes") }
            end = range.upperBound
        }
        if end != bytes.count { finding("record ranges \(ranges) do not cover \(bytes.count) bytes") }
        _ = DatagramKind(bytes)
    },
    FuzzTarget(name: "datatrack", summary: "data-track packets, round trip, depacketizer") { bytes in
        guard let first = bytes.first else { return }
        var depacketizer = Depacketizer(maxPartialFrames: Int(first % 4) + 1)
        for packetBytes in Pieces(bytes, from: 1) {
            guard let packet = try? DataTrackPacket(decoding: packetBytes) else { continue }
            if (try? DataTrackPacket(decoding: packet.encoded())) != packet { finding("re-encoded packet decodes differently") }
            let output = depacketizer.push(packet)
            if let frame = output.frame, frame.packetCount < 1 || frame.packetCount > Depacketizer.maxPacketsPerFrame {
                finding("frame of \(frame.packetCount) packets")
            }
        }
        _ = depacketizer.flush()
    },
    FuzzTarget(name: "e2ee", summary: "E2EE frames: packets → depacketizer → decrypt, stored sealed frames") { bytes in
        var cryptor = fuzzCryptor
        _ = try? SealedFrame(stored: bytes).open(with: fuzzKeys, participant: "robot")
        var depacketizer = Depacketizer(maxPartialFrames: 2)
        for packetBytes in Pieces(bytes) {
            guard let packet = try? DataTrackPacket(decoding: packetBytes) else { continue }
            if let frame = depacketizer.push(packet).frame {
                _ = try? cryptor.decrypt(frame, participant: "robot")
                _ = try? cryptor.decrypt(frame, participant: "stranger")
            }
        }
    },
    FuzzTarget(name: "signal", summary: "LiveKit signal requests/responses (protobuf), data packets relayed") { bytes in
        if let request = try? SignalFrame.decodeRequest(bytes) {
            let again = try? SignalFrame.decodeRequest(SignalFrame.encode(request))
            if again != request { finding("signal request round trip changed it") }
        }
        if let response = try? SignalFrame.decodeResponse(bytes) {
            let again = try? SignalFrame.decodeResponse(SignalFrame.encode(response))
            if again != response { finding("signal response round trip changed it") }
        }
        _ = try? SignalFrame.decodeRequest(bytes).jsonString()
        _ = try? RelayedDataPacket.relay(bytes, channel: .reliable, senderIdentity: "robot", senderSid: "PA_robot")
        _ = try? RelayedDataPacket.relay(bytes, channel: .lossy, senderIdentity: "agent", senderSid: "PA_agent",
                                         hidden: true, senderIsAgent: true)
    },
    FuzzTarget(name: "jwt", summary: "access tokens: verify (HS256, base64url, claims JSON)") { bytes in
        let token = String(decoding: bytes, as: UTF8.self)
        _ = try? AccessToken.unverifiedClaims(token)
        _ = try? AccessToken.verify(token, keys: ["devkey": "secret"])
    },
    FuzzTarget(name: "join-request", summary: "/rtc and /rtc/v1 request targets: query, gzipped join_request") { bytes in
        // Request target, a NUL, then the Authorization header value.
        let split = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
        let target = String(decoding: split[0], as: UTF8.self)
        let authorization = split.count > 1 ? String(decoding: split[1], as: UTF8.self) : nil
        _ = try? SignalConnectRequest.parse(target: target, authorization: authorization)
        _ = try? JoinRequestQuery.decode(target)
        _ = try? Gzip.decompress(bytes, limit: 1 << 20)
    },
]

let fuzzKeys: E2EEKeyProvider = {
    // The key the SDK captures in the seeds were encrypted with (testvectors README).
    guard let keys = try? E2EEKeyProvider(sharedKey: Array("spike-shared-key".utf8)) else { finding("cannot derive the fuzz key") }
    return keys
}()
let fuzzCryptor = FrameCryptor(keys: fuzzKeys)
