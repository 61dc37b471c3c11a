/// Base64 (RFC 4648 §4, standard alphabet, with padding), as `payload_b64` uses it.
///
/// Encoding is canonical, so JSON lines round trips are byte-exact; decoding rejects characters
/// outside the alphabet and bad padding rather than guessing.
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// Appends the encoding of `bytes` to `out`.
    public static func encode(_ bytes: [UInt8], into out: inout [UInt8]) {
        out.reserveCapacity(out.count + (bytes.count + 2) / 3 * 4)
        var i = 0
        let n = bytes.count
        alphabet.withUnsafeBufferPointer { a in
            while i + 3 <= n {
                let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
                out.append(a[Int(v >> 18)])
                out.append(a[Int(v >> 12 & 63)])
                out.append(a[Int(v >> 6 & 63)])
                out.append(a[Int(v & 63)])
                i += 3
            }
            if n - i == 1 {
                let v = UInt32(bytes[i]) << 16
                out.append(a[Int(v >> 18)])
                out.append(a[Int(v >> 12 & 63)])
                out.append(UInt8(ascii: "="))
                out.append(UInt8(ascii: "="))
            } else if n - i == 2 {
                let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
                out.append(a[Int(v >> 18)])
                out.append(a[Int(v >> 12 & 63)])
                out.append(a[Int(v >> 6 & 63)])
                out.append(UInt8(ascii: "="))
            }
        }
    }

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        encode(bytes, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base64 text; throws `CodecError` naming the offending offset.
    public static func decode<C: Collection>(_ text: C) throws -> [UInt8] where C.Element == UInt8 {
        let chars = Array(text)
        guard chars.count % 4 == 0 else {
            throw CodecError("base64 length \(chars.count) is not a multiple of 4", at: chars.count)
        }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 4 * 3)
        var i = 0
        while i < chars.count {
            var quad: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
            var padding = 0
            for k in 0..<4 {
                let c = chars[i + k]
                var v: UInt32 = 0
                if c == UInt8(ascii: "=") {
                    // Padding only in the last quad's last one or two places.
                    guard i + 4 == chars.count, k >= 2 else { throw CodecError("misplaced base64 padding", at: i + k) }
                    padding += 1
                } else {
                    guard padding == 0 else { throw CodecError("base64 data after padding", at: i + k) }
                    let r = reverse[Int(c)]
                    guard r != 0xFF else { throw CodecError("invalid base64 character", at: i + k) }
                    v = UInt32(r)
                }
                switch k {
                case 0: quad.0 = v
                case 1: quad.1 = v
                case 2: quad.2 = v
                default: quad.3 = v
                }
            }
            let v = quad.0 << 18 | quad.1 << 12 | quad.2 << 6 | quad.3
            out.append(UInt8(v >> 16 & 0xFF))
            if padding < 2 { out.append(UInt8(v >> 8 & 0xFF)) }
            if padding < 1 { out.append(UInt8(v & 0xFF)) }
            i += 4
        }
        return out
    }
}
