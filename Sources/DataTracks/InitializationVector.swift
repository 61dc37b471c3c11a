/// The 12-byte AES-GCM IV carried in E2EE extension 1, held as two integers so it is a plain
/// value with no allocation: bytes 0-3 (`prefix`) and bytes 4-11 (`counter`), big-endian.
///
/// How our publisher makes IVs unique under one key (NIST SP 800-38D §8.2.1, "deterministic
/// construction"): each `FrameCryptor` draws a random 32-bit prefix and a random 64-bit counter
/// start from the system CSPRNG (getrandom(2)), then increments the counter by one per frame. Within one
/// cryptor IVs cannot repeat before 2^64 frames. Two cryptors under the same key (a shared room
/// key) collide only if both the prefix and their counter windows overlap: for n cryptors each
/// sending m frames, p ≈ n²·m / 2^96. A new key set at runtime draws a fresh start as well.
/// (LiveKit's SDK builds IVs as random u32 ‖ time in ms ‖ time − send count; receivers take the
/// IV from the extension as is, so both constructions interoperate.)
public struct InitializationVector: Sendable, Hashable, CustomStringConvertible {
    public var prefix: UInt32
    public var counter: UInt64

    public init(prefix: UInt32, counter: UInt64) {
        self.prefix = prefix
        self.counter = counter
    }

    /// From exactly 12 bytes; callers check the length.
    init(_ bytes: ArraySlice<UInt8>) {
        var p: UInt32 = 0
        var c: UInt64 = 0
        let s = bytes.startIndex
        for i in 0..<4 { p = p << 8 | UInt32(bytes[s + i]) }
        for i in 4..<12 { c = c << 8 | UInt64(bytes[s + i]) }
        self.init(prefix: p, counter: c)
    }

    /// From a 12-byte array; nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 12 else { return nil }
        self.init(bytes[...])
    }

    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(12)
        out.appendBigEndian(prefix)
        out.appendBigEndian(counter)
        return out
    }

    public var description: String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
