import Foundation
import XCTest

/// The SDK captures in `shared/testvectors/livekit-python-1.2.1/` (see its README): found at
/// `<package root>/../shared` (CI and /work/main), else `$TRACKBAG_SHARED`, else `/work/shared`.
enum TestVectors {
    static let captures = ["plain", "dual-pc", "e2ee"]
    /// The shared key the e2ee capture was made with (raw bytes of this ASCII string).
    static let sharedKey = Array("spike-shared-key".utf8)

    static func directory(file: StaticString = #filePath) throws -> URL {
        let root = URL(fileURLWithPath: "\(file)").deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        var candidates = [root.appendingPathComponent("../shared")]
        if let env = ProcessInfo.processInfo.environment["TRACKBAG_SHARED"] {
            candidates.append(URL(fileURLWithPath: env))
        }
        candidates.append(URL(fileURLWithPath: "/work/shared"))
        for shared in candidates {
            let dir = shared.appendingPathComponent("testvectors/livekit-python-1.2.1").standardized
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("README.md").path) {
                return dir
            }
        }
        throw VectorError("testvectors not found in \(candidates.map(\.path)); set TRACKBAG_SHARED")
    }

    struct VectorError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// One line of `pushed-frames.jsonl` / `received-frames.jsonl`.
    struct Frame: Equatable {
        var payload: [UInt8]
        var userTimestamp: UInt64?
    }

    static func lines(_ capture: String, _ file: String) throws -> [[String: Any]] {
        let url = try directory().appendingPathComponent(capture).appendingPathComponent(file)
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw VectorError("\(file): line is not an object")
            }
            return object
        }
    }

    static func frames(_ capture: String, _ file: String) throws -> [Frame] {
        try lines(capture, file).map { line in
            guard let hex = line["hex"] as? String, let payload = bytes(hex: hex),
                  let length = line["len"] as? Int, length == payload.count else {
                throw VectorError("\(capture)/\(file): bad frame line")
            }
            let ts = (line["user_timestamp"] as? NSNumber)?.uint64Value
            return Frame(payload: payload, userTimestamp: ts)
        }
    }

    /// `publisher-to-server.jsonl` / `server-to-subscriber.jsonl`: raw data channel messages.
    static func packets(_ capture: String, _ file: String) throws -> [[UInt8]] {
        try lines(capture, file).map { line in
            guard let hex = line["hex"] as? String, let packet = bytes(hex: hex),
                  let length = line["len"] as? Int, length == packet.count else {
                throw VectorError("\(capture)/\(file): bad packet line")
            }
            return packet
        }
    }

    static func bytes(hex: String) -> [UInt8]? {
        let chars = Array(hex.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        case 65...70: return c - 55
        default: return nil
        }
    }
}

/// Hex literal with spaces between fields: `hex("1c 00 0001")`.
func hex(_ s: String) -> [UInt8] {
    let digits = s.filter { $0.isHexDigit }
    return TestVectors.bytes(hex: String(digits)) ?? []
}

/// Deterministic generator for fuzz-style tests (SplitMix64), so a failure can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
