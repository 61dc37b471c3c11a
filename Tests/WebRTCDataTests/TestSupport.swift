import Foundation
@testable import WebRTCData

/// Hex with spaces/newlines and `//` comments → bytes (test vectors as printed in RFCs).
func bytes(_ text: String) -> [UInt8] {
    let digits = text.split(separator: "\n").map { line in
        line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    }.joined().filter(\.isHexDigit)
    var out: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        out.append(UInt8(digits[index..<next], radix: 16) ?? 0)
        index = next
    }
    return out
}

/// The SDK captures (DESIGN.md §8), found relative to this file or /work/shared.
func testVector(_ relativePath: String) throws -> String {
    let here = URL(fileURLWithPath: #filePath)
    let candidates = [
        here.deletingLastPathComponent().appendingPathComponent("../../../shared/testvectors/livekit-python-1.2.1/\(relativePath)"),
        here.deletingLastPathComponent().appendingPathComponent("../../../../shared/testvectors/livekit-python-1.2.1/\(relativePath)"),
        URL(fileURLWithPath: "/work/shared/testvectors/livekit-python-1.2.1/\(relativePath)"),
    ]
    for url in candidates where FileManager.default.fileExists(atPath: url.standardized.path) {
        return try String(contentsOf: url.standardized, encoding: .utf8)
    }
    throw WebRTCDataError(.sdp, .missingLine, at: relativePath, "test vector not found")
}
