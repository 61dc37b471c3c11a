#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one rule every command and stage that writes a file follows: it never deletes or
/// overwrites a file it reads. `refuseInput` is the shared check; writers that replace a file
/// write a temporary file beside it (`temporaryPath`) and rename it over the target only once
/// it is complete, so a failure half-way leaves the old file whole.
public enum OutputPath {
    /// Where a path leads: its device and inode (hard links share them) and its resolved path
    /// (symbolic links and `..` followed). A path that does not exist yet resolves through its
    /// directory.
    public struct Identity: Sendable, Hashable, CustomStringConvertible {
        public var device: UInt64?
        public var inode: UInt64?
        public var resolvedPath: String

        public init(path: String) {
            var st = stat()
            if stat(path, &st) == 0 {
                device = UInt64(st.st_dev)
                inode = UInt64(st.st_ino)
            }
            resolvedPath = OutputPath.resolve(path)
        }

        /// The same file: same device and inode when both exist, else the same resolved path.
        public func isSameFile(as other: Identity) -> Bool {
            if let d = device, let i = inode, let od = other.device, let oi = other.inode {
                return d == od && i == oi
            }
            return resolvedPath == other.resolvedPath
        }

        public var description: String { resolvedPath }
    }

    /// Files a database input keeps beside itself (sqlite.org/tempfiles.html): writing one of
    /// them destroys the input as surely as writing the input.
    public static let sidecarSuffixes = ["-wal", "-shm", "-journal"]

    /// Throws when `output` is one of `inputs` — the same path, a symbolic or hard link to it,
    /// or one of its SQLite sidecar files — naming both paths. `-` (standard output) never is.
    public static func refuseInput(output: String, inputs: [String]) throws(TrackModelError) {
        guard output != "-" else { return }
        let out = Identity(path: output)
        for input in inputs where input != "-" {
            for suffix in [""] + sidecarSuffixes {
                let candidate = Identity(path: input + suffix)
                // A sidecar that does not exist has no inode; compare it by resolved path only.
                guard out.isSameFile(as: candidate) || out.resolvedPath == candidate.resolvedPath else { continue }
                let what = suffix.isEmpty ? "the input" : "the input's \(suffix) file"
                throw TrackModelError(.outputIsInput,
                                      "output \(output) is \(what) \(input + suffix) (resolved: \(candidate.resolvedPath)); "
                                      + "trackbag never overwrites what it reads: choose another output path",
                                      place: output)
            }
        }
    }

    /// A fresh name in `path`'s directory (so a rename onto `path` stays on one file system):
    /// `.NAME.tmp-PID-N`, hidden and unique within this process.
    public static func temporaryPath(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let n = temporaryCounter.next()
        return "\(directory).\(name).tmp-\(getpid())-\(n)"
    }

    /// Renames a finished temporary file onto `path` (atomic on POSIX), first removing stale
    /// SQLite sidecars of the file it replaces so they cannot be applied to the new one.
    public static func moveIntoPlace(_ temporary: String, _ path: String, removingSidecars: Bool = false) throws(TrackModelError) {
        if removingSidecars { for suffix in sidecarSuffixes { unlink(path + suffix) } }
        guard rename(temporary, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temporary)
            throw TrackModelError(.io, "cannot rename \(temporary) to \(path): \(why)", place: path)
        }
    }

    /// The absolute, symlink-free form of `path`; for a path that does not exist, its parent
    /// resolved plus its last component.
    static func resolve(_ path: String) -> String {
        if let p = realpath(path, nil) {
            defer { free(p) }
            return String(cString: p)
        }
        let slash = path.lastIndex(of: "/")
        let parent = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        if let p = realpath(parent, nil) {
            defer { free(p) }
            let base = String(cString: p)
            return (base.hasSuffix("/") ? base : base + "/") + name
        }
        return path
    }
}

/// Numbers temporary files within the process.
private let temporaryCounter = TemporaryCounter()

private final class TemporaryCounter: @unchecked Sendable {
    private var value = 0
    private var lock = pthread_mutex_t()
    init() { pthread_mutex_init(&lock, nil) }
    func next() -> Int {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        value += 1
        return value
    }
}
