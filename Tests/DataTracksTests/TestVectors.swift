import Foundation
import XCTest
import Synthetic
import TestSupport

/// The SDK captures (`SDKCaptures`) read as frames and packets.
enum TestVectors {
    static let captures = SDKCaptures.captures
    /// The shared key the e2ee capture was made with (raw bytes of this ASCII string).
    static let sharedKey = Array("spike-shared-key".utf8)

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
        try SDKCaptures.lines(capture, file)
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

    static func bytes(hex: String) -> [UInt8]? { hexOrNil(hex) }
}

