/// Text → `SessionDescription` (RFC 8866 §5: `<type>=<value>` lines, session part first, then
/// one part per `m=`). Accepts LF or CRLF. Malformed known lines are a typed error naming the
/// line number; unknown lines and attributes are kept, never fatal.
extension SessionDescription {
    public init(parsing text: String) throws(WebRTCDataError) {
        self.init()
        var sawVersion = false
        var lineNumber = 0
        var current: MediaDescription?
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = rawLine
            if line.last == "\r" { line = line.dropLast() }
            if line.isEmpty { continue }
            let bytes = line.utf8
            guard bytes.count >= 2, bytes[bytes.index(after: bytes.startIndex)] == UInt8(ascii: "="),
                  let typeByte = bytes.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(typeByte)
            else {
                throw WebRTCDataError(.sdp, .badLine, at: "line \(lineNumber)", "expected `<letter>=<value>`, found `\(line.prefix(40))`")
            }
            let type = Character(UnicodeScalar(typeByte))
            let value = String(line.dropFirst(2))
            if !sawVersion {
                // RFC 8866 §5: a description starts with `v=0`.
                guard type == "v", value == "0" else {
                    throw WebRTCDataError(.sdp, .badLine, at: "line \(lineNumber)", "expected `v=0` first, found `\(line.prefix(40))`")
                }
                sawVersion = true
                continue
            }
            switch type {
            case "m":
                if let finished = current { media.append(finished) }
                current = try Self.parseMediaLine(value, line: lineNumber)
            case "a":
                let (name, attributeValue) = Self.splitAttribute(value)
                if current != nil {
                    try Self.apply(name: name, value: attributeValue, to: &current!, line: lineNumber)
                } else {
                    try applySession(name: name, value: attributeValue, line: lineNumber)
                }
            case "c" where current != nil:
                current!.connection = value
            case "o" where current == nil: origin = value
            case "s" where current == nil: sessionName = value
            case "t" where current == nil: timing = value
            case "v":
                throw WebRTCDataError(.sdp, .badLine, at: "line \(lineNumber)", "second `v=` line")
            default:
                if current != nil { current!.otherLines.append(String(line)) } else { otherLines.append(String(line)) }
            }
        }
        if let finished = current { media.append(finished) }
        guard sawVersion else {
            throw WebRTCDataError(.sdp, .missingLine, at: "line 1", "empty description, no `v=0`")
        }
    }

    /// `m=<media> <port>[/<count>] <proto> <fmt> …`
    private static func parseMediaLine(_ value: String, line: Int) throws(WebRTCDataError) -> MediaDescription {
        let fields = value.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard fields.count >= 3 else {
            throw WebRTCDataError(.sdp, .badLine, at: "line \(line)", "m= needs `<media> <port> <proto> <fmt>…`, found `\(value.prefix(60))`")
        }
        let portText = fields[1].split(separator: "/").first.map(String.init) ?? ""
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw WebRTCDataError(.sdp, .badValue, at: "line \(line)", "m= port `\(fields[1])` is not 0…65535")
        }
        return MediaDescription(kind: fields[0], port: port, proto: fields[2], formats: Array(fields.dropFirst(3)))
    }

    static func splitAttribute(_ value: String) -> (String, String?) {
        guard let colon = value.firstIndex(of: ":") else { return (value, nil) }
        return (String(value[..<colon]), String(value[value.index(after: colon)...]))
    }

    private mutating func applySession(name: String, value: String?, line: Int) throws(WebRTCDataError) {
        switch name {
        case "group":
            groups.append(try Self.parseGroup(value, line: line))
        case "ice-lite": iceLite = true
        case "ice-ufrag": iceUfrag = try Self.required(value, name, line)
        case "ice-pwd": icePwd = try Self.required(value, name, line)
        case "ice-options": iceOptions = Self.words(value)
        case "fingerprint": fingerprints.append(try SDPFingerprint(parsing: Self.required(value, name, line), line: line))
        case "setup": setup = try Self.parseSetup(value, line: line)
        default: attributes.append(SDPAttribute(name, value))
        }
    }

    private static func apply(name: String, value: String?, to media: inout MediaDescription, line: Int) throws(WebRTCDataError) {
        switch name {
        case "mid": media.mid = try required(value, name, line)
        case "ice-ufrag": media.iceUfrag = try required(value, name, line)
        case "ice-pwd": media.icePwd = try required(value, name, line)
        case "ice-options": media.iceOptions = words(value)
        case "fingerprint": media.fingerprints.append(try SDPFingerprint(parsing: required(value, name, line), line: line))
        case "setup": media.setup = try parseSetup(value, line: line)
        case "sendrecv", "sendonly", "recvonly", "inactive": media.direction = name
        case "sctp-port": media.sctpPort = try integer(value, name, line, range: 0...65535)
        case "max-message-size": media.maxMessageSize = try integer(value, name, line, range: 0...Int(UInt32.max))
        case "candidate": media.candidates.append(try ICECandidate(parsing: "candidate:" + required(value, name, line), line: line))
        case "end-of-candidates": media.endOfCandidates = true
        default: media.attributes.append(SDPAttribute(name, value))
        }
    }

    private static func parseGroup(_ value: String?, line: Int) throws(WebRTCDataError) -> SDPGroup {
        let fields = words(value)
        guard let semantics = fields.first else {
            throw WebRTCDataError(.sdp, .badValue, at: "line \(line)", "a=group without semantics")
        }
        return SDPGroup(semantics: semantics, mids: Array(fields.dropFirst()))
    }

    private static func parseSetup(_ value: String?, line: Int) throws(WebRTCDataError) -> SDPSetup {
        guard let value, let setup = SDPSetup(rawValue: value.trimmingCharacters(in: " ")) else {
            throw WebRTCDataError(.sdp, .badValue, at: "line \(line)", "a=setup must be active|passive|actpass|holdconn, found `\(value ?? "")`")
        }
        return setup
    }

    private static func required(_ value: String?, _ name: String, _ line: Int) throws(WebRTCDataError) -> String {
        guard let value, !value.isEmpty else {
            throw WebRTCDataError(.sdp, .badValue, at: "line \(line)", "a=\(name) needs a value")
        }
        return value
    }

    private static func integer(_ value: String?, _ name: String, _ line: Int, range: ClosedRange<Int>) throws(WebRTCDataError) -> Int {
        guard let text = value?.trimmingCharacters(in: " "), let number = Int(text), range.contains(number) else {
            throw WebRTCDataError(.sdp, .badValue, at: "line \(line)", "a=\(name) needs an integer in \(range), found `\(value ?? "")`")
        }
        return number
    }

    private static func words(_ value: String?) -> [String] {
        (value ?? "").split(separator: " ", omittingEmptySubsequences: true).map(String.init)
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var view = Substring(self)
        while view.first == set { view = view.dropFirst() }
        while view.last == set { view = view.dropLast() }
        return String(view)
    }
}
