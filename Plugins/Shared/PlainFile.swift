#if canImport(Glibc)
import Glibc
#endif
import Pipeline
import TrackModel

/// Plain POSIX file reading and writing for the file stages: large buffered reads and writes,
/// EINTR retried, every failure a `PipelineError` naming the file and errno's text.
final class InputFile {
    let path: String
    private var fd: Int32

    init(path: String) throws {
        self.path = path
        if path == "-" {
            fd = STDIN_FILENO
        } else {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw PipelineError(message: "cannot open: \(String(cString: strerror(errno)))", file: path) }
        }
    }

    /// Whether a read would return without blocking (data or end of file). Regular files always
    /// are; pipes and terminals (standard input) may not be.
    func isReadable(timeoutMilliseconds: Int32 = 0) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let n = poll(&descriptor, 1, timeoutMilliseconds)
            if n < 0 && errno == EINTR { continue }
            // An error from poll: let the read report it.
            return n != 0
        }
    }

    /// One read buffer for the file's life: no per-read allocation or zero-filling.
    private var chunk = [UInt8](repeating: 0, count: 1 << 20)

    /// Reads up to 1 MiB appended to `buffer`; returns 0 at the end of the file.
    func read(into buffer: inout [UInt8]) throws -> Int {
        while true {
            let n = chunk.withUnsafeMutableBytes { raw in
                Glibc.read(fd, raw.baseAddress!, raw.count)
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                throw PipelineError(message: "read failed: \(String(cString: strerror(errno)))", file: path)
            }
            if n > 0 { buffer.append(contentsOf: chunk[0..<n]) }
            return n
        }
    }

    deinit {
        if fd != STDIN_FILENO { close(fd) }
    }
}

/// A file written in large appends. `-` is standard output. A regular file is written as a
/// temporary file beside `path` and renamed onto it by `close`, so an existing file is replaced
/// only by a complete one (`OutputPath`); devices and pipes (`/dev/stdout`) are written directly.
final class OutputFile {
    let path: String
    private var fd: Int32
    /// The temporary file `close` renames onto `path`; nil when writing `path` directly.
    private var temporaryPath: String?

    init(path: String) throws {
        self.path = path
        if path == "-" {
            fd = STDOUT_FILENO
        } else {
            var st = stat()
            let special = stat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG
            let target = special ? path : OutputPath.temporaryPath(for: path)
            temporaryPath = special ? nil : target
            fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw PipelineError(message: "cannot create \(target): \(String(cString: strerror(errno)))", file: path) }
        }
    }

    func write(_ bytes: [UInt8]) throws {
        var done = 0
        try bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw PipelineError(message: "write failed: \(String(cString: strerror(errno)))", file: path) }
                done += n
            }
        }
    }

    /// Closes (standard output is only flushed by the caller's writes). Errors from `close`
    /// matter on network file systems: they can report a failed earlier write.
    func close() throws {
        let fd = self.fd
        self.fd = -1
        if fd >= 0 && fd != STDOUT_FILENO && Glibc.close(fd) != 0 {
            throw PipelineError(message: "close failed: \(String(cString: strerror(errno)))", file: path)
        }
        if fd >= 0, let temporaryPath {
            self.temporaryPath = nil
            do {
                try OutputPath.moveIntoPlace(temporaryPath, path)
            } catch {
                throw PipelineError(message: error.message, file: path)
            }
        }
    }

    deinit {
        if fd >= 0 && fd != STDOUT_FILENO { Glibc.close(fd) }
        // Never closed: the output is incomplete and replaces nothing.
        if fd >= 0, let temporaryPath { unlink(temporaryPath) }
    }
}
