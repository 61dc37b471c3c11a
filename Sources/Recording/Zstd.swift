import CZstd

/// zstd compression with one reused context (creating a context per chunk costs more than
/// compressing a small one). Owned by one writer; not shared between threads.
final class ZstdCompressor {
    private let context: OpaquePointer
    let level: Int32

    init(level: Int) throws {
        guard let ctx = ZSTD_createCCtx() else { throw RecordingError(.io, "zstd: cannot allocate a compression context") }
        context = ctx
        self.level = Int32(clamping: level)
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Compresses `source` into `destination` (resized as needed, capacity kept across calls)
    /// and returns the compressed length.
    func compress(_ source: UnsafeRawBufferPointer, into destination: inout [UInt8]) throws -> Int {
        let bound = ZSTD_compressBound(source.count)
        if destination.count < bound { destination = [UInt8](repeating: 0, count: bound) }
        let n = destination.withUnsafeMutableBytes { dst in
            ZSTD_compressCCtx(context, dst.baseAddress, dst.count, source.baseAddress, source.count, level)
        }
        if ZSTD_isError(n) != 0 {
            throw RecordingError(.io, "zstd: " + String(cString: ZSTD_getErrorName(n)))
        }
        return n
    }
}

/// zstd decompression with one reused context, into a reused buffer.
final class ZstdDecompressor {
    private let context: OpaquePointer

    init() throws {
        guard let ctx = ZSTD_createDCtx() else { throw RecordingError(.io, "zstd: cannot allocate a decompression context") }
        context = ctx
    }

    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses a frame whose content size must be exactly `expectedSize` (the chunk's
    /// `raw_size`); anything else means the blob or its row is damaged.
    func decompress(_ source: UnsafeRawBufferPointer, expectedSize: Int, into destination: inout [UInt8]) throws {
        guard expectedSize >= 0, expectedSize <= 1 << 31 else {
            throw RecordingError(.corrupt, "raw_size \(expectedSize) is out of range")
        }
        if destination.count != expectedSize {
            if destination.capacity >= expectedSize {
                destination.removeAll(keepingCapacity: true)
                destination.append(contentsOf: repeatElement(0, count: expectedSize))
            } else {
                destination = [UInt8](repeating: 0, count: expectedSize)
            }
        }
        // +1 spare byte so a blob that inflates beyond raw_size is detected, not silently cut.
        let n: Int = destination.withUnsafeMutableBytes { dst in
            ZSTD_decompressDCtx(context, dst.baseAddress, dst.count, source.baseAddress, source.count)
        }
        if ZSTD_isError(n) != 0 {
            throw RecordingError(.corrupt, "zstd: " + String(cString: ZSTD_getErrorName(n)))
        }
        guard n == expectedSize else {
            throw RecordingError(.corrupt, "decompressed to \(n) bytes, raw_size says \(expectedSize)")
        }
    }
}
