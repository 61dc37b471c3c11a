/// Text → `SessionDescription` (RFC 8866 §5: `<type>=<value>` lines, session part first, then
/// one part per `m=`). Accepts LF or CRLF. Malformed known lines are a typed error naming the
/// line number; unknown lines and attributes are kept, never fatal.
extension SessionDescription {
    public init(parsing text: String) throws(WebRTCDataError) {
        self.init()
        var sawVersion = false
        var lineNumber = 0
        var current: MediaDescription?
        // Split on Unicode scalars: in Swift "\r\n" is one Character, so splitting the String
        // on "\n" would not split CRLF text at all.
        for rawLine in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var scalars = rawLine
            if scalars.last == "\r" { scalars = scalars.dropLast() }
            let line = Substring(scalars)
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
            if type == "m" {
                if let finished = current { media.append(finished) }
                current = try Self.parseMediaLine(value, line: lineNumber)
                continue
            }
            if type == "v" {
                throw WebRTCDataError(.sdp, .badLine, at: "line \(lineNumber)", "second `v=` line")
            }
            if var section = current {
                // Inside an m= section: its attributes, its c= line, anything else kept verbatim.
                switch type {
                case "a":
                    let (name, attributeValue) = Self.splitAttribute(value)
                    try Self.apply(name: name, value: attributeValue, to: &section, line: lineNumber)
                case "c": section.connection = value
                default: section.otherLines.append(String(line))
                }
                current = section
            } else {
                switch type {
                case "a":
                    let (name, attributeValue) = Self.splitAttribute(value)
                    try applySession(name: name, value: attributeValue, line: lineNumber)
                case "o": origin = value
                case "s": sessionName = value
                case "t": timing = value
                default: otherLines.append(String(line))
                }
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
        case "ice-ufrag": iceUfrag = try Self.token(value, name, line)
        case "ice-pwd": icePwd = try Self.token(value, name, line)
        case "ice-options": iceOptions = Self.words(value)
        case "fingerprint": fingerprints.append(try SDPFingerprint(parsing: Self.required(value, name, line), line: line))
        case "setup": setup = try Self.parseSetup(value, line: line)
        default: attributes.append(SDPAttribute(name, value))
        }
    }

    private static func apply(name: String, value: String?, to media: inout MediaDescription, line: Int) throws(WebRTCDataError) {
        switch name {
        case "mid": media.mid = try token(value, name, line)
        case "ice-ufrag": media.iceUfrag = try token(value, name, line)
        case "ice-pwd": media.icePwd = try token(value, name, line)
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

    /// RFC 8866 §9 `token` (RFC 5888 §4: a mid is one; ice-ufrag/ice-pwd are narrower still,
    /// RFC 8839 §5.4): printable ASCII without spaces and separators, so it survives being
    /// listed in `a=group` and regenerated.
    private static func token(_ value: String?, _ name: String, _ line: Int) throws(WebRTCDataError) -> String {
        let text = try required(value, name, line)
        let separators: Set<UInt8> = [0x22, 0x28, 0x29, 0x2C, 0x2F, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F, 0x40, 0x5B, 0x5C, 0x5D, 0x7B, 0x7D]
        let allowSlash = name == "ice-ufrag" || name == "ice-pwd"  // ice-char includes "/" and "+"
        guard text.utf8.allSatisfy({ (0x21...0x7E).contains($0) && (!separators.contains($0) || (allowSlash && $0 == 0x2F)) }) else {
            throw WebRTCDataError(.sdp, .badValue, at: "line \(line)", "a=\(name) must be a token, found `\(text.prefix(40))`")
        }
        return text
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
