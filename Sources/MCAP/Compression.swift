import CLZ4
import CZstd

/// Chunk compression (spec registry "Well-known compression formats": `zstd` is a Zstandard
/// frame, `lz4` an LZ4 *frame* (lz4frame.h), `""` none).
public enum Compression: String, Sendable, CaseIterable {
    case none = ""
    case zstd
    case lz4
}

/// Compresses chunk records. One per writer: the zstd context is reused across chunks.
final class ChunkCompressor {
    let compression: Compression
    let level: Int32
    private var zstdContext: OpaquePointer?
    /// Output buffer, reused for every chunk.
    private(set) var output: [UInt8] = []

    init(_ compression: Compression, level: Int32) {
        self.compression = compression
        self.level = level
        if compression == .zstd { zstdContext = ZSTD_createCCtx() }
    }

    deinit {
        if let zstdContext { ZSTD_freeCCtx(zstdContext) }
    }

    /// Compresses `input` into `output` and returns the compressed length.
    func compress(_ input: UnsafeRawBufferPointer) throws -> Int {
        switch compression {
        case .none:
            output.removeAll(keepingCapacity: true)
            output.append(contentsOf: input)
            return output.count
        case .zstd:
            guard let zstdContext else { throw MCAPError(.compression, "ZSTD_createCCtx failed") }
            let bound = ZSTD_compressBound(input.count)
            if output.count < bound { output = [UInt8](repeating: 0, count: bound) }
            let n = output.withUnsafeMutableBytes { out in
                ZSTD_compressCCtx(zstdContext, out.baseAddress, bound, input.baseAddress, input.count, level)
            }
            if ZSTD_isError(n) != 0 {
                throw MCAPError(.compression, "zstd: " + String(cString: ZSTD_getErrorName(n)))
            }
            return n
        case .lz4:
            var prefs = LZ4F_preferences_t()
            prefs.compressionLevel = level
            let bound = LZ4F_compressFrameBound(input.count, &prefs)
            if output.count < bound { output = [UInt8](repeating: 0, count: bound) }
            let n = output.withUnsafeMutableBytes { out in
                LZ4F_compressFrame(out.baseAddress, bound, input.baseAddress, input.count, &prefs)
            }
            if LZ4F_isError(n) != 0 {
                throw MCAPError(.compression, "lz4: " + String(cString: LZ4F_getErrorName(n)))
            }
            return n
        }
    }
}

/// Decompresses chunk records into a reused buffer. `uncompressedSize` comes from the chunk and
/// is checked by the caller against a limit before this allocates it.
final class ChunkDecompressor {
    private var zstdContext: OpaquePointer?
    private var lz4Context: OpaquePointer?
    var output: [UInt8] = []

    init() {}

    deinit {
        if let zstdContext { ZSTD_freeDCtx(zstdContext) }
        if let lz4Context { LZ4F_freeDecompressionContext(lz4Context) }
    }

    /// Most bytes `n` bytes of a zstd frame can become: every block has a 3-byte header and one
    /// byte at least (an RLE block) and yields at most 128 KiB (RFC 8878 §3.1.1.2), so a size
    /// declared beyond that cannot be true and is refused before anything is allocated.
    static func zstdMaxExpansion(_ n: Int) -> Int {
        let (bound, overflow) = (n / 4 + 1).multipliedReportingOverflow(by: 128 << 10)
        return overflow ? .max : bound
    }

    /// Most bytes `n` bytes of an LZ4 frame can become: a sequence copies at most 255 bytes
    /// per byte of length code (lz4 block format, "Match length"), plus header slack.
    static func lz4MaxExpansion(_ n: Int) -> Int {
        let (bound, overflow) = n.multipliedReportingOverflow(by: 255)
        return overflow || bound > .max - 64 ? .max : bound + 64
    }

    static func checkExpansion(_ codec: String, _ stored: Int, _ declared: Int, _ bound: Int, _ offset: Int64) throws {
        guard declared <= bound else {
            throw MCAPError(.malformed, "\(codec) chunk declares \(declared) uncompressed bytes, more than its \(stored) "
                            + "compressed bytes can expand to (at most \(bound))", offset: offset)
        }
    }

    /// The largest output buffer sized so far (tests check the memory bound).
    private(set) var largestOutput = 0

    /// Fills `output[0..<uncompressedSize]`; `offset` is the chunk's file offset for errors.
    func decompress(_ compression: String, _ input: UnsafeRawBufferPointer, uncompressedSize: Int,
                    offset: Int64) throws {
        // Sizes that contradict the data are refused before the output buffer grows.
        switch compression {
        case "":
            guard input.count == uncompressedSize else {
                throw MCAPError(.malformed, "uncompressed chunk holds \(input.count) bytes, header says \(uncompressedSize)",
                                offset: offset)
            }
        case "zstd":
            // A zstd frame usually records its content size (RFC 8878 §3.1.1.1.2).
            let declared = ZSTD_getFrameContentSize(input.baseAddress, input.count)
            if declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR
                && declared != UInt64(uncompressedSize) {
                throw MCAPError(.malformed, "zstd frame holds \(declared) bytes, chunk header says \(uncompressedSize)",
                                offset: offset)
            }
            try Self.checkExpansion("zstd", input.count, uncompressedSize, Self.zstdMaxExpansion(input.count), offset)
        case "lz4":
            try Self.checkExpansion("lz4", input.count, uncompressedSize, Self.lz4MaxExpansion(input.count), offset)
        default:
            break
        }
        if output.count < uncompressedSize {
            output = [UInt8](repeating: 0, count: uncompressedSize)
        }
        largestOutput = max(largestOutput, output.count)
        switch compression {
        case "":
            output.withUnsafeMutableBytes { $0.copyMemory(from: input) }
        case "zstd":
            if zstdContext == nil { zstdContext = ZSTD_createDCtx() }
            let n = output.withUnsafeMutableBytes { out in
                ZSTD_decompressDCtx(zstdContext, out.baseAddress, uncompressedSize, input.baseAddress, input.count)
            }
            if ZSTD_isError(n) != 0 {
                throw MCAPError(.compression, "zstd chunk: " + String(cString: ZSTD_getErrorName(n)), offset: offset)
            }
            guard n == uncompressedSize else {
                throw MCAPError(.malformed, "zstd chunk decompressed to \(n) bytes, header says \(uncompressedSize)",
                                offset: offset)
            }
        case "lz4":
            if lz4Context == nil {
                var ctx: OpaquePointer?
                let rc = LZ4F_createDecompressionContext(&ctx, UInt32(LZ4F_VERSION))
                guard LZ4F_isError(rc) == 0, let ctx else {
                    throw MCAPError(.compression, "LZ4F_createDecompressionContext failed")
                }
                lz4Context = ctx
            }
            LZ4F_resetDecompressionContext(lz4Context)
            var produced = 0
            var consumed = 0
            try output.withUnsafeMutableBytes { out in
                while true {
                    var dstSize = uncompressedSize - produced
                    var srcSize = input.count - consumed
                    let hint = LZ4F_decompress(lz4Context, out.baseAddress.map { $0 + produced }, &dstSize,
                                               input.baseAddress.map { $0 + consumed }, &srcSize, nil)
                    if LZ4F_isError(hint) != 0 {
                        throw MCAPError(.compression, "lz4 chunk: " + String(cString: LZ4F_getErrorName(hint)),
                                        offset: offset)
                    }
                    produced += dstSize
                    consumed += srcSize
                    if hint == 0 { break }
                    if srcSize == 0 && dstSize == 0 {
                        throw MCAPError(.malformed, "lz4 chunk ends early or exceeds \(uncompressedSize) bytes",
                                        offset: offset)
                    }
                }
            }
            guard produced == uncompressedSize else {
                throw MCAPError(.malformed, "lz4 chunk decompressed to \(produced) bytes, header says \(uncompressedSize)",
                                offset: offset)
            }
        default:
            throw MCAPError(.unsupportedCompression, "chunk compression '\(compression)' is not supported",
                            offset: offset)
        }
    }
}
