import Foundation

/// The trickle form of a candidate (W3C `RTCIceCandidateInit`), which LiveKit carries in
/// `TrickleRequest.candidateInit` as JSON: `{"candidate","sdpMid","sdpMLineIndex"}`
/// (docs/WIRE.md, "Trickle"). An empty `candidate` means end of candidates (RFC 8838 §4).
public struct ICECandidateInit: Codable, Hashable, Sendable {
    public var candidate: String
    public var sdpMid: String?
    public var sdpMLineIndex: Int?
    public var usernameFragment: String?

    public init(candidate: String, sdpMid: String?, sdpMLineIndex: Int?, usernameFragment: String? = nil) {
        self.candidate = candidate
        self.sdpMid = sdpMid
        self.sdpMLineIndex = sdpMLineIndex
        self.usernameFragment = usernameFragment
    }

    public init(_ candidate: ICECandidate, sdpMid: String, sdpMLineIndex: Int) {
        self.init(candidate: candidate.sdpValue, sdpMid: sdpMid, sdpMLineIndex: sdpMLineIndex)
    }

    public var isEndOfCandidates: Bool { candidate.isEmpty }

    /// The parsed candidate; nil for the end-of-candidates marker.
    public func parsedCandidate() throws(WebRTCDataError) -> ICECandidate? {
        isEndOfCandidates ? nil : try ICECandidate(parsing: candidate)
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    public init(json: String) throws(WebRTCDataError) {
        do {
            self = try JSONDecoder().decode(ICECandidateInit.self, from: Data(json.utf8))
        } catch {
            throw WebRTCDataError(.ice, .badCandidate, at: "candidateInit JSON", "\(error)")
        }
    }
}
