/// A certificate fingerprint as SDP carries it (RFC 8122 §5, `a=fingerprint:sha-256 AB:CD:…`).
///
/// Only SHA-256 is produced; parsing accepts any hash name so an offer can be read, but the DTLS
/// layer verifies peers against SHA-256 fingerprints only.
public struct DTLSFingerprint: Sendable, Hashable, CustomStringConvertible {
    /// Hash function name in lower case, e.g. "sha-256" (RFC 8122 §5: case-insensitive).
    public let algorithm: String
    public let bytes: [UInt8]

    public init(algorithm: String = "sha-256", bytes: [UInt8]) {
        self.algorithm = algorithm.lowercased()
        self.bytes = bytes
    }

    /// Parses `sha-256 AB:CD:…` (the value of `a=fingerprint`).
    public init(parsing text: some StringProtocol) throws(DataChannelError) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2 else {
            throw DataChannelError(.dtls, "fingerprint", expected: "\"<hash> <hex:hex:…>\"",
                                   found: "\"\(text)\"")
        }
        let algorithm = parts[0].lowercased()
        var bytes: [UInt8] = []
        for (index, pair) in parts[1].split(separator: ":", omittingEmptySubsequences: false).enumerated() {
            guard pair.count == 2, let byte = UInt8(pair, radix: 16) else {
                throw DataChannelError(.dtls, "fingerprint byte \(index)", expected: "two hex digits",
                                       found: "\"\(pair)\"")
            }
            bytes.append(byte)
        }
        if algorithm == "sha-256", bytes.count != 32 {
            throw DataChannelError(.dtls, "sha-256 fingerprint", expected: "32 bytes", found: "\(bytes.count) bytes")
        }
        self.init(algorithm: algorithm, bytes: bytes)
    }

    /// `sha-256 AB:CD:…`, upper-case hex as browsers write it.
    public var description: String {
        let hexDigits = Array("0123456789ABCDEF")
        let hex = bytes.map { String([hexDigits[Int($0 >> 4)], hexDigits[Int($0 & 0x0F)]]) }
        return algorithm + " " + hex.joined(separator: ":")
    }
}
