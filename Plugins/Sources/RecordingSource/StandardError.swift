#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a line to standard error (fd 2) without touching the C `stderr` global, which strict
/// concurrency rejects.
enum FileOutput {
    static func standardError(_ text: String) {
        var t = text
        t.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
    }
}
