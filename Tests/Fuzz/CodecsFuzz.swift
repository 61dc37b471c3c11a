// Targets for the pure codecs every layer uses: JSON, JSON lines, CBOR, MessagePack, Protobuf
// (descriptor sets and messages), ROS 2 definitions and CDR, base64 and base64url, and globs.
// Property: no input crashes, and what decodes round-trips.
import Codecs
@testable import Stages
import TrackModel

let codecsTargets: [FuzzTarget] = [
    FuzzTarget(name: "json", summary: "JSON text → Value → JSON text → same Value; selective parse = selection of the full parse") { bytes in
        checkSelectiveJSON(bytes)
        guard let value = try? JSONText.parse(bytes) else { return }
        var out: [UInt8] = []
        JSONText.write(value, into: &out)
        guard let again = try? JSONText.parse(out) else { finding("JSON we wrote does not parse: \(String(decoding: out, as: UTF8.self))") }
        if !sameJSON(again, value) { finding("JSON round trip changed the value") }
    },
    FuzzTarget(name: "jsonlines", summary: "JSON lines frame codec (export/import format)") { bytes in
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
            _ = try? JSONLinesCodec.decode(Array(line))
        }
    },
    FuzzTarget(name: "cbor", summary: "CBOR decoder (RFC 8949)") { bytes in
        _ = try? CBOR.decode(bytes)
    },
    FuzzTarget(name: "msgpack", summary: "MessagePack decoder") { bytes in
        _ = try? MessagePack.decode(bytes)
    },
    FuzzTarget(name: "protobuf", summary: "FileDescriptorSet reader and dynamic protobuf decoder") { bytes in
        // A little-endian uint16 length, that many bytes of FileDescriptorSet, then the message.
        guard bytes.count >= 2 else { return }
        let length = min(Int(bytes[0]) | Int(bytes[1]) << 8, bytes.count - 2)
        guard let schema = try? ProtobufSchema(fileDescriptorSet: Array(bytes[2..<2 + length])) else { return }
        let message = Array(bytes[(2 + length)...])
        for name in schema.messageNames.prefix(8) {
            _ = try? schema.decoder(for: name).decode(message)
        }
    },
    FuzzTarget(name: "ros2cdr", summary: "ROS 2 .msg definitions and the CDR decoder") { bytes in
        // The ros2msg definition text, a NUL, then the CDR payload.
        let split = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
        let definition = String(decoding: split[0], as: UTF8.self)
        guard let schema = try? ROS2MessageSchema(name: "fuzz/msg/Root", definition: definition) else { return }
        _ = try? CDRDecoder(schema: schema).decode(split.count > 1 ? Array(split[1]) : [])
    },
    FuzzTarget(name: "base64", summary: "base64 and base64url decoders, round trip") { bytes in
        if let decoded = try? Base64.decode(bytes) {
            let again = try? Base64.decode(Array(Base64.encode(decoded).utf8))
            if again != decoded { finding("base64 round trip changed \(decoded.count) bytes") }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if let decoded = Base64.decodeURL(text) {
            if Base64.decodeURL(Base64.encodeURL(decoded)) != decoded { finding("base64url round trip changed \(decoded.count) bytes") }
        }
    },
    FuzzTarget(name: "glob", summary: "glob and track-glob patterns matched against names") { bytes in
        // Pattern, a NUL, then the names to match (one per line).
        let split = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
        let pattern = String(decoding: split[0].prefix(256), as: UTF8.self)
        let names = split.count > 1 ? split[1].split(separator: 0x0A).prefix(16).map { String(decoding: $0.prefix(256), as: UTF8.self) } : ["robot/pose"]
        let glob = Glob(pattern)
        let trackGlob = try? TrackGlob(pattern)
        for name in names {
            _ = glob.matches(name)
            if let trackGlob { _ = trackGlob.matches(identity: name, name: name) }
        }
    },
]

/// The selective JSON parse throws exactly when the full one does, and otherwise returns the
/// full value's selection (`ValueSelection.selecting(from:)`), for paths made from names that
/// occur in the input (so they hit) and a few fixed ones (indices, non-ASCII names).
func checkSelectiveJSON(_ bytes: [UInt8]) {
    var names: [String] = []
    var i = 0
    while i < bytes.count && names.count < 4 {
        if bytes[i] == UInt8(ascii: "\""), let end = bytes[(i + 1)...].prefix(24).firstIndex(of: UInt8(ascii: "\"")) {
            names.append(String(decoding: bytes[(i + 1)..<end], as: UTF8.self))
            i = end + 1
        } else {
            i += 1
        }
    }
    let a = names.first ?? "a", b = names.dropFirst().first ?? "b", c = names.last ?? "c"
    let pathSets: [[[ValuePathStep]]] = [
        [[.member(a)]],
        [[.member(a), .member(b)], [.member(c)]],
        [[.index(1)], [.member(b), .index(0), .member(c)]],
        [[.member(a), .index(2)], [.member("\u{212A}")], [.member("é")]],
        [],
    ]
    let full = try? JSONText.parse(bytes)
    for paths in pathSets {
        let selection = ValueSelection(paths: paths)
        let selected = try? JSONText.parse(bytes, selecting: JSONText.Selector(selection))
        switch (full, selected) {
        case (nil, nil): continue
        case (nil, .some): finding("selective JSON parse accepted what the full parse refuses")
        case (.some, nil): finding("selective JSON parse refused what the full parse accepts")
        case let (.some(f), .some(s)):
            if s != selection.selecting(from: f) { finding("selective JSON parse differs from the selection of the full parse for \(paths)") }
        }
    }
}

/// Values equal as JSON sees them: NaN is not JSON, integers and doubles may trade places.
func sameJSON(_ a: Value, _ b: Value) -> Bool {
    a == b || JSONText.text(a) == JSONText.text(b)
}
