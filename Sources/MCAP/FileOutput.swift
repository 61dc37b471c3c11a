#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file opened for writing through a large buffer, with a running CRC-32 of everything
/// written (the Data End record needs the CRC of the whole data section, spec "Data End").
///
/// The bytes go to a temporary file beside `path` (`.NAME.tmp-PID-N`) that `closeFile` renames
/// onto `path`: a file already there stays whole until the new one is complete, and an output
/// abandoned half-way (error, crash) never replaces anything.
final class FileOutput {
    let path: String
    let temporaryPath: String
    private var fd: Int32
    private var pending: [UInt8] = []
    private let bufferSize = 4 << 20
    /// Bytes handed to `write` so far: the file offset of the next byte.
    private(set) var position: Int64 = 0
    private(set) var crc = CRC32()

    init(path: String) throws {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        // A device or pipe (`/dev/stdout`) is written directly: there is nothing to replace.
        var st = stat()
        let special = stat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG
        temporaryPath = special ? path : "\(directory).\(name).tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        fd = special ? open(path, O_WRONLY | O_CLOEXEC) : open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw MCAPError(.io, "cannot create \(temporaryPath) (to become \(path)): \(String(cString: strerror(errno)))")
        }
        pending.reserveCapacity(bufferSize)
    }

    deinit {
        if fd >= 0 {
            close(fd)
            if temporaryPath != path { unlink(temporaryPath) }
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        crc.update(bytes)
        position += Int64(bytes.count)
        if pending.count + bytes.count > bufferSize { try flush() }
        // Large blocks (compressed chunks) go straight to the file: one copy fewer.
        if bytes.count >= 64 << 10 {
            try flush()
            try writeAll(bytes)
        } else {
            pending.append(contentsOf: bytes)
        }
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    func flush() throws {
        guard !pending.isEmpty else { return }
        try pending.withUnsafeBytes { try writeAll($0) }
        pending.removeAll(keepingCapacity: true)
    }

    func closeFile() throws {
        try flush()
        guard fd >= 0 else { return }
        let rc = close(fd)
        fd = -1
        guard rc == 0 else {
            let why = String(cString: strerror(errno))
            if temporaryPath != path { unlink(temporaryPath) }
            throw MCAPError(.io, "closing \(path): \(why)")
        }
        guard temporaryPath == path || rename(temporaryPath, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw MCAPError(.io, "renaming \(temporaryPath) to \(path): \(why)")
        }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else { throw MCAPError(.io, "\(path) is already closed") }
        var done = 0
        while done < bytes.count {
            let n = Glibc_write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw MCAPError(.io, "writing \(path): \(String(cString: strerror(errno)))", offset: position)
            }
            done += n
        }
    }
}

@inline(__always)
private func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}
