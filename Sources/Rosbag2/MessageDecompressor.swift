import CZstd

/// Undoes rosbag2's per-message compression (`compression_mode: MESSAGE`, `compression_format:
/// zstd`): each stored message is one zstd frame (RFC 8878) of the serialized message.
///
/// The frame's declared content size is not trusted for allocation: output grows as the
/// stream decodes, and a message past `maximumSize` is refused, so a hostile frame cannot make
/// us allocate what its header claims.
public final class MessageDecompressor {
    /// Largest decompressed message accepted (1 GiB; rosbag2 has no limit of its own, but a
    /// data track frame of more is not a message anyone replays).
    public static let maximumSize = 1 << 30
    private let context: OpaquePointer
    private var window = [UInt8](repeating: 0, count: 1 << 16)

    public init() {
        context = ZSTD_createDCtx()
    }

    deinit { ZSTD_freeDCtx(context) }

    /// The message `data` holds; throws a description of what is wrong with the frame.
    public func decompress(_ data: [UInt8]) throws(MessageDecompressionError) -> [UInt8] {
        ZSTD_DCtx_reset(context, ZSTD_reset_session_only)
        var out: [UInt8] = []
        let declared = data.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        if declared == ZSTD_CONTENTSIZE_ERROR {
            throw MessageDecompressionError(description: "not a zstd frame (the bag says its messages are zstd-compressed)")
        }
        if declared != ZSTD_CONTENTSIZE_UNKNOWN {
            guard declared <= UInt64(Self.maximumSize) else {
                throw MessageDecompressionError(description: "zstd frame declares \(declared) bytes, more than \(Self.maximumSize)")
            }
            // Reserve up to what the input could plausibly expand to; growth covers the rest.
            out.reserveCapacity(Int(min(declared, UInt64(data.count) &* 64 &+ 4096)))
        }
        var finished = false
        let failure: String? = data.withUnsafeBytes { src in
            var input = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
            while true {
                let (rc, produced) = window.withUnsafeMutableBytes { dst -> (Int, Int) in
                    var output = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
                    let rc = ZSTD_decompressStream(context, &output, &input)
                    return (rc, output.pos)
                }
                if ZSTD_isError(rc) != 0 { return "zstd: " + String(cString: ZSTD_getErrorName(rc)) }
                out.append(contentsOf: window[0..<produced])
                if out.count > Self.maximumSize { return "decompresses to more than \(Self.maximumSize) bytes" }
                if rc == 0 {
                    finished = true
                    break
                }
                if input.pos == input.size && produced < window.count { break }
            }
            return input.pos == input.size ? nil : "\(input.size - input.pos) bytes after the zstd frame"
        }
        if let failure { throw MessageDecompressionError(description: failure) }
        guard finished else { throw MessageDecompressionError(description: "zstd frame cut short") }
        if declared != ZSTD_CONTENTSIZE_UNKNOWN && UInt64(out.count) != declared {
            throw MessageDecompressionError(description: "zstd frame declares \(declared) bytes, holds \(out.count)")
        }
        return out
    }
}

public struct MessageDecompressionError: Error, Sendable, CustomStringConvertible {
    public var description: String
}
