/// `a=fingerprint:<hash-func> <XX:XX:…>` (RFC 8122 §5): the hash of the peer's DTLS certificate,
/// which DTLS checks the presented certificate against (RFC 8842 §5.1).
public struct SDPFingerprint: Hashable, Sendable, CustomStringConvertible {
    /// Lowercase hash name: `sha-256`, `sha-384`, `sha-512`, `sha-1`.
    public var algorithm: String
    public var bytes: [UInt8]

    public init(algorithm: String, bytes: [UInt8]) {
        self.algorithm = algorithm.lowercased()
        self.bytes = bytes
    }

    /// Parses the attribute value `sha-256 AB:CD:…`. Hex is case-insensitive (RFC 8122 §5);
    /// known hash lengths are checked, unknown algorithms are kept as long as the hex parses.
    public init(parsing value: String, line: Int? = nil) throws(WebRTCDataError) {
        let location = line.map { "line \($0)" } ?? "fingerprint"
        let parts = value.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2 else {
            throw WebRTCDataError(.sdp, .badValue, at: location, "fingerprint needs `<hash> <hex>`, found `\(value)`")
        }
        var bytes: [UInt8] = []
        for pair in parts[1].split(separator: ":", omittingEmptySubsequences: false) {
            guard pair.count == 2, let byte = UInt8(pair, radix: 16) else {
                throw WebRTCDataError(.sdp, .badValue, at: location, "fingerprint byte `\(pair)` is not two hex digits")
            }
            bytes.append(byte)
        }
        self.init(algorithm: String(parts[0]), bytes: bytes)
        let expected = ["sha-1": 20, "sha-224": 28, "sha-256": 32, "sha-384": 48, "sha-512": 64][algorithm]
        if let expected, expected != bytes.count {
            throw WebRTCDataError(.sdp, .badValue, at: location, "\(algorithm) fingerprint has \(bytes.count) bytes, expected \(expected)")
        }
    }

    /// Uppercase hex with colons, as browsers write it.
    public var hexValue: String {
        let digits = Array("0123456789ABCDEF")
        return bytes.map { String([digits[Int($0 >> 4)], digits[Int($0 & 0xF)]]) }.joined(separator: ":")
    }

    public var description: String { "\(algorithm) \(hexValue)" }
}
