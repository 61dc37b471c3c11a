/// Hex as RFCs print test vectors: spaces and newlines between fields, `//` comments to the end
/// of a line (`hex("1c 00 // type\n 0001")`). Nil on an odd number of digits or a stray character.
public func hexOrNil(_ text: String) -> [UInt8]? {
    var out: [UInt8] = []
    var high: UInt8?
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let code = line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        for c in code.utf8 {
            let nibble: UInt8
            switch c {
            case 48...57: nibble = c - 48
            case 97...102: nibble = c - 87
            case 65...70: nibble = c - 55
            case 32, 9, 13: continue
            default: return nil
            }
            if let h = high {
                out.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
    }
    return high == nil ? out : nil
}

/// Hex literals written in a test: any character that is not a hex digit separates fields
/// (`"1c-00 | 0001"`); `//` comments run to the end of a line. An odd digit count stops the test.
public func hex(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [UInt8] {
    let code = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
        line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    }.joined(separator: " ")
    guard let bytes = hexOrNil(String(code.filter(\.isHexDigit))) else {
        preconditionFailure("odd number of hex digits at \(file):\(line)")
    }
    return bytes
}
