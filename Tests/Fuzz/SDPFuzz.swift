// libFuzzer entry for the SDP parser and the candidate codecs (built by scripts/fuzz.sh).
// Property: parsing never crashes; what parses generates text that parses to the same value;
// answering never crashes.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSDP(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? ICECandidate(parsing: text)
    _ = try? ICECandidateInit(json: text)
    guard let parsed = try? SessionDescription(parsing: text) else { return 0 }
    let generated = parsed.sdpText
    guard let again = try? SessionDescription(parsing: generated), again == parsed else {
        fatalError("SDP round trip changed the description:\n\(generated)")  // a finding
    }
    let fingerprint = SDPFingerprint(algorithm: "sha-256", bytes: Array(repeating: 0xAB, count: 32))
    if let answer = try? parsed.dataChannelAnswer(DataChannelParameters(iceUfrag: "fuzz", icePwd: "0123456789abcdefghijkl",
                                                                          fingerprint: fingerprint)) {
        let reparsed: SessionDescription?
        do { reparsed = try SessionDescription(parsing: answer.sdpText) } catch {
            fatalError("answer does not parse back: \(error)\n\(answer.sdpText)")
        }
        guard reparsed == answer else {
            fatalError("answer parses back different:\n\(answer.sdpText)")
        }
    }
    return 0
}
