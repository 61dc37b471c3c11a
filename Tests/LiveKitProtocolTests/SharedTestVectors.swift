import Foundation
import TestSupport

/// The SDK captures' signal messages (`SDKCaptures`).
enum SharedTestVectors {
    static let captures = SDKCaptures.captures

    /// The lines of `<capture>/signal-sequence.jsonl` as JSON objects.
    static func signalSequence(_ capture: String) throws -> [[String: Any]] {
        try SDKCaptures.lines(capture, "signal-sequence.jsonl")
    }

    static func text(_ capture: String, _ file: String) throws -> String {
        try SDKCaptures.text("\(capture)/\(file)")
    }
}
