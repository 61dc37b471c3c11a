/// `SessionDescription` → text with CRLF line ends (RFC 8866 §5), lines in the order RFC 8866
/// requires (v, o, s, [c, b…], t, a…, then each m= with its c= and a= lines).
extension SessionDescription {
    public var sdpText: String {
        var lines = ["v=0", "o=\(origin)", "s=\(sessionName)"]
        lines += otherLines
        lines.append("t=\(timing)")
        for group in groups { lines.append((["a=group:\(group.semantics)"] + group.mids).joined(separator: " ")) }
        if iceLite { lines.append("a=ice-lite") }
        if let iceUfrag { lines.append("a=ice-ufrag:\(iceUfrag)") }
        if let icePwd { lines.append("a=ice-pwd:\(icePwd)") }
        if !iceOptions.isEmpty { lines.append("a=ice-options:" + iceOptions.joined(separator: " ")) }
        for fingerprint in fingerprints { lines.append("a=fingerprint:\(fingerprint)") }
        if let setup { lines.append("a=setup:\(setup.rawValue)") }
        lines += attributes.map(\.line)
        for section in media { lines += section.sdpLines }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}

extension MediaDescription {
    var sdpLines: [String] {
        var lines = ["m=" + ([kind, String(port), proto] + formats).joined(separator: " ")]
        if let connection { lines.append("c=\(connection)") }
        lines += otherLines
        if let mid { lines.append("a=mid:\(mid)") }
        if let iceUfrag { lines.append("a=ice-ufrag:\(iceUfrag)") }
        if let icePwd { lines.append("a=ice-pwd:\(icePwd)") }
        if !iceOptions.isEmpty { lines.append("a=ice-options:" + iceOptions.joined(separator: " ")) }
        for fingerprint in fingerprints { lines.append("a=fingerprint:\(fingerprint)") }
        if let setup { lines.append("a=setup:\(setup.rawValue)") }
        if let direction { lines.append("a=\(direction)") }
        if let sctpPort { lines.append("a=sctp-port:\(sctpPort)") }
        if let maxMessageSize { lines.append("a=max-message-size:\(maxMessageSize)") }
        lines += attributes.map(\.line)
        for candidate in candidates { lines.append("a=\(candidate.sdpValue)") }
        if endOfCandidates { lines.append("a=end-of-candidates") }
        return lines
    }
}
