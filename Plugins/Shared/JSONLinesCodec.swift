import DataTracks
import Pipeline
import Recording
import TrackModel
import Codecs

/// The JSON lines frame format shared by the `jsonl` source and sink and by `trackbag
/// export`/`import` (README.md):
///
/// ```
/// {"identity":"robot-1","track":"imu","time_ns":1700000000000000000,"user_timestamp":42,"payload_b64":"AAE="}
/// ```
///
/// A frame of an E2EE track kept as ciphertext says so instead of posing as plaintext:
/// `"encryption":"gcm","key_index":0,"iv_b64":"…"` before `payload_b64`, which then holds the
/// ciphertext with its 16-byte tag (`trackbag export --key` writes the plaintext instead).
///
/// Written canonically: that key order, no spaces, `user_timestamp` `null` when absent,
/// `"value"` appended last when the frame was decoded. Read leniently as to whitespace and key
/// order (any valid JSON object with those keys), so jsonl → tbag → jsonl is byte-exact for
/// files we wrote. Integers are read exactly (a u64 user timestamp up to 2^64-1 survives).
public enum JSONLinesCodec {
    /// The fields of one line. `value` is present when the line carried one.
    public struct Line: Sendable, Hashable {
        public var identity: String
        public var track: String
        public var timeNs: Int64
        public var userTimestamp: UInt64?
        /// The stored payload: for `gcm`, the `SealedFrame` stored form rebuilt from the line.
        public var payload: [UInt8]
        public var value: Value?
        public var encryption: TrackEncryption = .none
    }

    /// Appends one line (with its `\n`) for `frame`. `includeValue` writes `"value"` when the
    /// frame has been decoded.
    public static func encode(_ frame: Frame, includeValue: Bool = true, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"identity":"#.utf8)
        JSONText.writeString(frame.track.identity, into: &out)
        out.append(contentsOf: #","track":"#.utf8)
        JSONText.writeString(frame.track.name, into: &out)
        out.append(contentsOf: #","time_ns":"#.utf8)
        JSONText.appendInteger(frame.receiveTimeNs, into: &out)
        out.append(contentsOf: #","user_timestamp":"#.utf8)
        if let ts = frame.userTimestamp {
            JSONText.appendUnsigned(ts, into: &out)
        } else {
            out.append(contentsOf: "null".utf8)
        }
        var payload = frame.payload
        if frame.track.encryption == .gcm {
            out.append(contentsOf: #","encryption":"gcm""#.utf8)
            // A stored payload too short to be sealed is written whole, without key index/IV.
            if let sealed = try? SealedFrame(stored: frame.payload) {
                out.append(contentsOf: #","key_index":"#.utf8)
                JSONText.appendUnsigned(UInt64(sealed.e2ee.keyIndex), into: &out)
                out.append(contentsOf: #","iv_b64":""#.utf8)
                Base64.encode(sealed.e2ee.iv.bytes, into: &out)
                out.append(UInt8(ascii: "\""))
                payload = sealed.ciphertext
            }
        }
        out.append(contentsOf: #","payload_b64":""#.utf8)
        Base64.encode(payload, into: &out)
        out.append(UInt8(ascii: "\""))
        if includeValue, let value = frame.value {
            out.append(contentsOf: #","value":"#.utf8)
            JSONText.write(value, into: &out)
        }
        out.append(contentsOf: "}\n".utf8)
    }

    public static func line(_ frame: Frame, includeValue: Bool = true) -> String {
        var out: [UInt8] = []
        encode(frame, includeValue: includeValue, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes one line (without its newline). Throws `CodecError` whose offset is the byte in
    /// the line where the problem is.
    public static func decode(_ bytes: [UInt8]) throws -> Line {
        guard case .object(let members) = try JSONText.parse(bytes) else {
            throw CodecError("a frame line must be a JSON object", at: 0)
        }
        var identity: String?
        var track: String?
        var timeNs: Int64?
        var userTimestamp: UInt64?
        var sawUserTimestamp = false
        var payload: [UInt8]?
        var value: Value?
        var encryption = TrackEncryption.none
        var keyIndex: UInt8?
        var iv: InitializationVector?
        for member in members {
            switch member.key {
            case "identity":
                guard case .string(let s) = member.value else { throw CodecError("\"identity\" must be a string", at: 0) }
                identity = s
            case "track":
                guard case .string(let s) = member.value else { throw CodecError("\"track\" must be a string", at: 0) }
                track = s
            case "time_ns":
                guard case .int(let t) = member.value else { throw CodecError("\"time_ns\" must be an integer (Unix ns)", at: 0) }
                timeNs = t
            case "user_timestamp":
                sawUserTimestamp = true
                switch member.value {
                case .null: userTimestamp = nil
                case .int(let t) where t >= 0: userTimestamp = UInt64(t)
                case .uint(let t): userTimestamp = t
                default: throw CodecError("\"user_timestamp\" must be null or an integer 0…2^64-1", at: 0)
                }
            case "payload_b64":
                guard case .string(let s) = member.value else { throw CodecError("\"payload_b64\" must be a string", at: 0) }
                do {
                    payload = try Base64.decode(Array(s.utf8))
                } catch let error as CodecError {
                    throw CodecError("\"payload_b64\": \(error.message) (offset \(error.offset) in the string)", at: 0)
                }
            case "value":
                value = member.value
            case "encryption":
                guard case .string(let s) = member.value, let e = TrackEncryption(rawValue: s) else {
                    throw CodecError("\"encryption\" must be \"none\" or \"gcm\"", at: 0)
                }
                encryption = e
            case "key_index":
                guard case .int(let i) = member.value, let index = UInt8(exactly: i), index < KeyRing.size else {
                    throw CodecError("\"key_index\" must be an integer 0…\(KeyRing.size - 1)", at: 0)
                }
                keyIndex = index
            case "iv_b64":
                guard case .string(let s) = member.value, let bytes = try? Base64.decode(Array(s.utf8)),
                      let value = InitializationVector(bytes: bytes) else {
                    throw CodecError("\"iv_b64\" must be base64 of 12 bytes", at: 0)
                }
                iv = value
            default:
                throw CodecError("unknown key \"\(member.key)\"", at: 0)
            }
        }
        guard let identity else { throw CodecError("missing \"identity\"", at: 0) }
        guard let track else { throw CodecError("missing \"track\"", at: 0) }
        guard let timeNs else { throw CodecError("missing \"time_ns\"", at: 0) }
        guard sawUserTimestamp else { throw CodecError("missing \"user_timestamp\" (write null when absent)", at: 0) }
        guard var payload else { throw CodecError("missing \"payload_b64\"", at: 0) }
        switch (keyIndex, iv) {
        case let (index?, iv?):
            guard encryption == .gcm else { throw CodecError("\"key_index\"/\"iv_b64\" need \"encryption\":\"gcm\"", at: 0) }
            payload = SealedFrame(e2ee: .init(keyIndex: index, iv: iv), ciphertext: payload).stored
        case (nil, nil):
            break
        default:
            throw CodecError("\"key_index\" and \"iv_b64\" come together", at: 0)
        }
        return Line(identity: identity, track: track, timeNs: timeNs, userTimestamp: userTimestamp,
                    payload: payload, value: value, encryption: encryption)
    }
}

/// Reads a JSON lines file incrementally, line by line, keeping the line number for errors.
/// Used by the `jsonl` source and by `trackbag import`.
public final class JSONLinesReader {
    public let path: String
    private let file: InputFile
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    /// 1-based number of the last line returned.
    public private(set) var lineNumber = 0
    /// Reuses one `TrackInfo` per (identity, track), so frames of a track share its strings.
    private var tracks: [TrackKey: TrackInfo] = [:]
    private let frameEncoding: String?
    private var sequence: UInt64 = 0

    /// `frameEncoding` is stamped on the tracks (JSON lines carry none), so `decode` can use it.
    public init(path: String, frameEncoding: String? = nil) throws {
        self.path = path
        self.file = try InputFile(path: path)
        self.frameEncoding = frameEncoding
    }

    /// What `step` found.
    public enum Step {
        case frame(Frame)
        /// No complete line is available without blocking (a pipe or terminal is quiet).
        case wouldBlock
        case end
    }

    /// The next frame, or nil at the end; blocks on pipes until a line arrives. A malformed
    /// line throws a `PipelineError` naming the file, the line and the column (byte) of the
    /// problem. Blank lines are skipped.
    public func next() throws -> Frame? {
        switch try step(blocking: true) {
        case .frame(let frame): return frame
        case .end, .wouldBlock: return nil
        }
    }

    /// Like `next`, but with `blocking: false` returns `.wouldBlock` instead of waiting for a
    /// pipe, so a source can pass on what it has and notice shutdown.
    public func step(blocking: Bool) throws -> Step {
        while let line = try nextLine(blocking: blocking) {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let decoded: JSONLinesCodec.Line
            do {
                decoded = try JSONLinesCodec.decode(line)
            } catch let error as CodecError {
                throw PipelineError(message: "malformed frame line: \(error.message)", file: path,
                                    line: lineNumber, column: error.offset + 1)
            }
            let key = TrackKey(identity: decoded.identity, name: decoded.track)
            let track: TrackInfo
            if let known = tracks[key] {
                track = known
            } else {
                track = TrackInfo(identity: decoded.identity, name: decoded.track, encryption: decoded.encryption,
                                  frameEncoding: frameEncoding)
                tracks[key] = track
            }
            defer { sequence += 1 }
            return .frame(Frame(track: track, payload: decoded.payload, userTimestamp: decoded.userTimestamp,
                                receiveTimeNs: decoded.timeNs, sequence: sequence, value: decoded.value))
        }
        return wouldBlock ? .wouldBlock : .end
    }

    private var wouldBlock = false

    /// The next line's bytes without `\n`; a last line without a newline counts too. nil at
    /// the end, or (not blocking) when no full line is available yet (`wouldBlock` set).
    func nextLine(blocking: Bool = true) throws -> [UInt8]? {
        wouldBlock = false
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                lineNumber += 1
                return line
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                lineNumber += 1
                return line
            }
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            if !blocking && !file.isReadable() {
                wouldBlock = true
                return nil
            }
            if try file.read(into: &buffer) == 0 { atEnd = true }
        }
    }
}

/// Writes JSON lines in large appends. Used by the `jsonl` sink and `trackbag export`.
public final class JSONLinesWriter {
    public let path: String
    private var file: OutputFile?
    private var buffer: [UInt8] = []
    private let includeValue: Bool

    public init(path: String, includeValue: Bool = true) throws {
        self.path = path
        self.file = try OutputFile(path: path)
        self.includeValue = includeValue
        buffer.reserveCapacity(1 << 20)
    }

    public func write(_ frame: Frame) throws {
        JSONLinesCodec.encode(frame, includeValue: includeValue, into: &buffer)
        if buffer.count >= 1 << 20 { try flush() }
    }

    public func flush() throws {
        guard !buffer.isEmpty, let file else { return }
        try file.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and closes the file.
    public func close() throws {
        try flush()
        let file = self.file
        self.file = nil
        try file?.close()
    }
}
