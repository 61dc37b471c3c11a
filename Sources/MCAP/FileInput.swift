#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file opened for reading: sequential reads through a read-ahead buffer (the linear path),
/// positioned reads for the indexed path, and an optional running CRC-32 of the sequential
/// bytes (for the Data End record's `data_section_crc`).
final class FileInput {
    let path: String
    let size: Int64
    private var fd: Int32
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    /// File offset of `buffer[0]` and how many valid bytes it holds.
    private var bufferStart: Int64 = 0
    private var bufferCount = 0
    /// File offset of the next sequential byte.
    private(set) var position: Int64 = 0
    var crc = CRC32()
    var crcEnabled = false

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw MCAPError(.io, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw MCAPError(.io, "cannot stat \(path): \(message)")
        }
        size = Int64(st.st_size)
        capacity = 1 << 20
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        buffer.deallocate()
        if fd >= 0 { close(fd) }
    }

    var remaining: Int64 { size - position }

    /// The next `count` sequential bytes, valid until the next call. The caller has checked
    /// `count <= remaining`, so the buffer never grows beyond the file's size.
    func read(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard Int64(count) <= remaining else {
            throw MCAPError(.truncated, "needs \(count) bytes, \(remaining) remain", offset: position)
        }
        var start = Int(position - bufferStart)
        if start + count > bufferCount {
            // Keep the unread tail, grow when one record is larger than the buffer, refill.
            let keep = bufferCount - start
            if count > capacity {
                let bigger = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 16)
                bigger.copyMemory(from: buffer + start, byteCount: keep)
                buffer.deallocate()
                buffer = bigger
                capacity = count
            } else if keep > 0 {
                memmove(buffer, buffer + start, keep)
            }
            bufferStart = position
            bufferCount = keep
            start = 0
            while bufferCount < count {
                let want = min(capacity - bufferCount, Int(size - (bufferStart + Int64(bufferCount))))
                let n = pread(fd, buffer + bufferCount, want, off_t(bufferStart + Int64(bufferCount)))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw MCAPError(.io, "reading \(path): \(String(cString: strerror(errno)))", offset: position)
                }
                if n == 0 {
                    throw MCAPError(.truncated, "file shrank while reading", offset: bufferStart + Int64(bufferCount))
                }
                bufferCount += n
            }
        }
        let out = UnsafeRawBufferPointer(start: buffer + start, count: count)
        if crcEnabled { crc.update(out) }
        position += Int64(count)
        return out
    }

    /// `count` bytes at `offset`, outside the sequential stream.
    func read(at offset: Int64, count: Int) throws -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= size, Int64(count) <= size - offset else {
            throw MCAPError(.truncated, "\(count) bytes at offset \(offset) lie beyond the end of the file (\(size) bytes)",
                            offset: offset)
        }
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        try out.withUnsafeMutableBytes { p in
            while done < count {
                let n = pread(fd, p.baseAddress! + done, count - done, off_t(offset + Int64(done)))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw MCAPError(.io, "reading \(path): \(String(cString: strerror(errno)))", offset: offset)
                }
                if n == 0 { throw MCAPError(.truncated, "file shrank while reading", offset: offset + Int64(done)) }
                done += n
            }
        }
        return out
    }
}
