/// Base64 in its two alphabets (RFC 4648): the standard one with padding (§4), as JSON lines'
/// `payload_b64` uses it, and base64url without padding (§5), the alphabet of JWTs (RFC 7515 §2)
/// and of LiveKit's `join_request`.
///
/// Encoding is canonical, so JSON lines round trips are byte-exact. Standard decoding is strict
/// (characters outside the alphabet and bad padding are errors, not guesses); base64url decoding
/// is lenient the way its senders need: padding or none (the Rust SDK pads, JWTs do not), and
/// `+`/`/` as well as `-`/`_` (a query string may carry plain base64).
public enum Base64 {
    static let standardAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let urlAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    /// Byte → sextet for the standard alphabet; 0xFF for anything else.
    static let standardReverse: [UInt8] = reverseTable(accepting: standardAlphabet)
    /// Byte → sextet for base64url, also accepting the standard alphabet's `+` and `/`.
    static let urlReverse: [UInt8] = reverseTable(accepting: urlAlphabet + Array("+/".utf8), extra: [62, 63])

    private static func reverseTable(accepting alphabet: [UInt8], extra: [UInt8] = []) -> [UInt8] {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() {
            table[Int(byte)] = index < 64 ? UInt8(index) : extra[index - 64]
        }
        return table
    }

    /// Appends the standard, padded encoding of `bytes` to `out`.
    public static func encode<Bytes: Collection<UInt8>>(_ bytes: Bytes, into out: inout [UInt8]) {
        encode(bytes, alphabet: standardAlphabet, padded: true, into: &out)
    }

    /// The standard, padded encoding of `bytes`.
    public static func encode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        var out: [UInt8] = []
        encode(bytes, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The base64url encoding of `bytes`, unpadded as JWTs require (RFC 7515 §2).
    public static func encodeURL<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        var out: [UInt8] = []
        encode(bytes, alphabet: urlAlphabet, padded: false, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func encode<Bytes: Collection<UInt8>>(_ bytes: Bytes, alphabet: [UInt8], padded: Bool,
                                                          into out: inout [UInt8]) {
        out.reserveCapacity(out.count + (bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let b0 = iterator.next() {
            let b1 = iterator.next()
            let b2 = b1 == nil ? nil : iterator.next()
            let v = UInt32(b0) << 16 | UInt32(b1 ?? 0) << 8 | UInt32(b2 ?? 0)
            out.append(alphabet[Int(v >> 18)])
            out.append(alphabet[Int(v >> 12 & 63)])
            if b1 != nil { out.append(alphabet[Int(v >> 6 & 63)]) } else if padded { out.append(UInt8(ascii: "=")) }
            if b2 != nil { out.append(alphabet[Int(v & 63)]) } else if padded { out.append(UInt8(ascii: "=")) }
        }
    }

    /// Decodes standard base64 text; throws `CodecError` naming the offending offset.
    public static func decode<C: Collection>(_ text: C) throws(CodecError) -> [UInt8] where C.Element == UInt8 {
        let chars = Array(text)
        guard chars.count % 4 == 0 else {
            throw CodecError("base64 length \(chars.count) is not a multiple of 4", at: chars.count)
        }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 4 * 3)
        var i = 0
        while i < chars.count {
            var v: UInt32 = 0
            var padding = 0
            for k in 0..<4 {
                let c = chars[i + k]
                var sextet: UInt32 = 0
                if c == UInt8(ascii: "=") {
                    // Padding only in the last quad's last one or two places.
                    guard i + 4 == chars.count, k >= 2 else { throw CodecError("misplaced base64 padding", at: i + k) }
                    padding += 1
                } else {
                    guard padding == 0 else { throw CodecError("base64 data after padding", at: i + k) }
                    let r = standardReverse[Int(c)]
                    guard r != 0xFF else { throw CodecError("invalid base64 character", at: i + k) }
                    sextet = UInt32(r)
                }
                v = v << 6 | sextet
            }
            out.append(UInt8(v >> 16 & 0xFF))
            if padding < 2 { out.append(UInt8(v >> 8 & 0xFF)) }
            if padding < 1 { out.append(UInt8(v & 0xFF)) }
            i += 4
        }
        return out
    }

    /// Decodes base64url (leniently, see the type's note); nil if `text` has a character outside
    /// both alphabets, padding in the middle, or a length no encoding produces (4n+1).
    public static func decodeURL(_ text: some StringProtocol) -> [UInt8]? {
        var chars = Array(text.utf8)
        var padding = 0
        while chars.last == UInt8(ascii: "=") { chars.removeLast(); padding += 1 }
        if padding > 2 || (padding > 0 && (chars.count + padding) % 4 != 0) { return nil }
        if chars.count % 4 == 1 { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for c in chars {
            let value = urlReverse[Int(c)]
            guard value != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return out
    }
}
