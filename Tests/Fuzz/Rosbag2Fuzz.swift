// Targets for ROS 2 bags someone hands `trackbag import` (docs/rosbag2.md): whole `.db3` files,
// per-message zstd frames and `metadata.yaml`.
import Foundation
import Rosbag2
@testable import Stages

let rosbag2Targets: [FuzzTarget] = [
    FuzzTarget(name: "rosbag2-db3", summary: "whole rosbag2 .db3 files (SQLite) → tables, topics, definitions, the message cursor") { bytes in
        let path = ScratchFile.write(bytes, name: "input.db3")
        guard let bag = try? SQLite3Bag(path: path) else { return }
        _ = try? bag.messageCount()
        guard let cursor = try? bag.messages() else { return }
        var messages = 0
        while messages < 100_000, let m = try? cursor.next() {
            if m.topicIndex < 0 || m.topicIndex >= bag.topics.count {
                finding("message names topic index \(m.topicIndex) of \(bag.topics.count)")
            }
            messages += 1
        }
    },
    FuzzTarget(name: "rosbag2-message", summary: "per-message zstd (compression_mode MESSAGE) → MessageDecompressor") { bytes in
        let decompressor = MessageDecompressor()
        // Twice through one decompressor: a failed frame must not spoil the next.
        let first = try? decompressor.decompress(bytes)
        let second = try? decompressor.decompress(bytes)
        if first != second { finding("the same frame decompressed differently the second time") }
    },
    FuzzTarget(name: "rosbag2-metadata", summary: "rosbag2 metadata.yaml → Rosbag2Layout") { bytes in
        guard let text = String(bytes: bytes, encoding: .utf8) else { return }
        _ = try? Rosbag2Layout.parse(metadata: text, file: "metadata.yaml", directory: ScratchFile.directory)
    },
]
