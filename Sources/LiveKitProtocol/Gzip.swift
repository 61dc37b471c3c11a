import CZlib

/// gzip (RFC 1952) through zlib, for `WrappedJoinRequest.compression = GZIP`.
enum Gzip {
    enum Failure: Error, Equatable {
        /// zlib rejected the stream; `code` is zlib's return value, `message` its `msg`.
        case corrupt(code: Int32, message: String)
        /// The stream ended before its end-of-stream marker.
        case truncated
        /// The output would exceed the caller's limit (a decompression bomb guard).
        case tooLarge(limit: Int)
    }

    /// Inflates a gzip (or zlib) stream of one member, refusing more than `limit` output bytes.
    static func decompress(_ input: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard czlib_inflate_init_auto(&stream) == Z_OK else { throw .corrupt(code: Z_MEM_ERROR, message: "init") }
        defer { inflateEnd(&stream) }
        var output = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        var input = input
        let status: Int32 = input.withUnsafeMutableBufferPointer { inBuffer in
            stream.next_in = inBuffer.baseAddress
            stream.avail_in = UInt32(inBuffer.count)
            while true {
                let code: Int32 = chunk.withUnsafeMutableBufferPointer { outBuffer in
                    stream.next_out = outBuffer.baseAddress
                    stream.avail_out = UInt32(outBuffer.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                if output.count + produced > limit { return Z_BUF_ERROR - 100 }
                output.append(contentsOf: chunk.prefix(produced))
                switch code {
                case Z_STREAM_END: return Z_STREAM_END
                case Z_OK: continue
                // No progress possible: the input ran out before the end marker.
                case Z_BUF_ERROR: return Z_BUF_ERROR
                default: return code
                }
            }
        }
        switch status {
        case Z_STREAM_END: return output
        case Z_BUF_ERROR: throw .truncated
        case Z_BUF_ERROR - 100: throw .tooLarge(limit: limit)
        default:
            let message = stream.msg.map { String(cString: $0) } ?? "zlib error"
            throw .corrupt(code: status, message: message)
        }
    }

    /// Deflates `input` into one gzip member (what a client sends with `compression = GZIP`).
    static func compress(_ input: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        guard czlib_deflate_init_gzip(&stream) == Z_OK else { return [] }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 32)
        var input = input
        let written: Int = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = UInt32(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = UInt32(outBuffer.count)
                // The output buffer is deflateBound-sized, so one Z_FINISH call completes.
                guard deflate(&stream, Z_FINISH) == Z_STREAM_END else { return 0 }
                return outBuffer.count - Int(stream.avail_out)
            }
        }
        return Array(output.prefix(written))
    }
}
