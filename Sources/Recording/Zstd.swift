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
    ///
    /// Nothing is allocated for a size the bytes cannot back: `expectedSize` must be within
    /// `RecordingFormat.maxChunkRawSize`, and equal to the frame's recorded content size (RFC
    /// 8878 §3.1.1.1.2, always written by trackbag; a frame without one is refused).
    /// `destination` grows only after both hold.
    func decompress(_ source: UnsafeRawBufferPointer, expectedSize: Int, into destination: inout [UInt8]) throws {
        guard expectedSize >= 0, Int64(expectedSize) <= RecordingFormat.maxChunkRawSize else {
            throw RecordingError(.corrupt, "raw_size \(expectedSize) is outside 0…\(RecordingFormat.maxChunkRawSize), the format's chunk size limit")
        }
        // Every zstd block has a 3-byte header and at least one byte, and yields at most
        // 128 KiB (RFC 8878 §3.1.1.2): a raw_size beyond that is a lie, whatever the header says.
        let canExpandTo = (source.count / 4 + 1) * (128 << 10)
        guard expectedSize <= canExpandTo else {
            throw RecordingError(.corrupt, "raw_size \(expectedSize) is more than \(source.count) zstd bytes can expand to (at most \(canExpandTo))")
        }
        let declared = ZSTD_getFrameContentSize(source.baseAddress, source.count)
        if declared == ZSTD_CONTENTSIZE_ERROR {
            throw RecordingError(.corrupt, "zstd: the blob does not start with a zstd frame header")
        } else if declared == ZSTD_CONTENTSIZE_UNKNOWN {
            throw RecordingError(.corrupt, "zstd frame header records no content size (trackbag always writes one)")
        } else if declared != UInt64(expectedSize) {
            throw RecordingError(.corrupt, "zstd frame header says \(declared) bytes, raw_size says \(expectedSize)")
        }
        if destination.count != expectedSize {
            if destination.capacity >= expectedSize {
                destination.removeAll(keepingCapacity: true)
                destination.append(contentsOf: repeatElement(0, count: expectedSize))
            } else {
                destination = [UInt8](repeating: 0, count: expectedSize)
            }
        }
        largestOutput = max(largestOutput, expectedSize)
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

    /// The largest output buffer this decompressor has sized (tests check the memory bound).
    private(set) var largestOutput = 0
}

/// zstd as the recording writer uses it, for other in-memory stores of frames (the snapshot
/// sink's ring): one reused context each way. Confined to one task at a time.
public final class FrameBlockCompressor: @unchecked Sendable {
    private let compressor: ZstdCompressor?
    private let decompressor: ZstdDecompressor
    private var scratch: [UInt8] = []

    /// `level` 1…22 as the writer's `zstd_level`; 0 stores blocks as they are.
    public init(level: Int) throws {
        compressor = level == 0 ? nil : try ZstdCompressor(level: level)
        decompressor = try ZstdDecompressor()
    }

    /// The compressed form of `raw` (or `raw` itself at level 0).
    public func compress(_ raw: [UInt8]) throws -> [UInt8] {
        guard let compressor else { return raw }
        let n = try raw.withUnsafeBytes { try compressor.compress($0, into: &scratch) }
        return Array(scratch[0..<n])
    }

    /// `rawSize` bytes back from what `compress` returned.
    public func decompress(_ stored: [UInt8], rawSize: Int) throws -> [UInt8] {
        guard compressor != nil else { return stored }
        var out: [UInt8] = []
        try stored.withUnsafeBytes { try decompressor.decompress($0, expectedSize: rawSize, into: &out) }
        return out
    }
}
