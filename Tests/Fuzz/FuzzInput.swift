// Helpers the targets share: splitting one input into several pieces, and a scratch file for
// readers that take a path.
#if canImport(Glibc)
import Glibc
#endif

/// Reads an input as a run of pieces, each a big-endian u16 length and that many bytes (the last
/// piece may be short). Lets one input hold several packets, datagrams or requests.
struct Pieces: Sequence, IteratorProtocol {
    let bytes: [UInt8]
    var offset: Int

    init(_ bytes: [UInt8], from offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    mutating func next() -> [UInt8]? {
        guard offset + 2 <= bytes.count else { return nil }
        let length = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
        offset += 2
        let end = Swift.min(bytes.count, offset + length)
        defer { offset = end }
        return Array(bytes[offset..<end])
    }
}

/// Fails the run: libFuzzer reports the input that broke a stated property as a crash.
func finding(_ message: String) -> Never {
    printError("FINDING: " + message + "\n")
    abort()
}

/// A per-process scratch file that readers taking a path open; rewritten for every input.
enum ScratchFile {
    nonisolated(unsafe) static var directory: String = {
        var template = Array("/tmp/trackbag-fuzz-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { finding("cannot create a scratch directory") }
        let path = String(cString: made)
        atexit { ScratchFile.removeAll() }
        return path
    }()

    /// Writes `bytes` to `name` in the scratch directory (replacing it) and returns its path.
    static func write(_ bytes: [UInt8], name: String) -> String {
        let path = directory + "/" + name
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { finding("cannot write \(path)") }
        var written = 0
        bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                if n <= 0 { break }
                written += n
            }
        }
        close(fd)
        return path
    }

    static func removeAll() {
        let path = directory
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { unlink(path + "/" + name) }
            }
            closedir(dir)
        }
        rmdir(path)
    }
}
