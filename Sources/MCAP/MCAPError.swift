/// The MCAP module's one error type: what went wrong, at which file offset, and how much of the
/// file was readable before it (so a truncated recording says what can still be salvaged).
public struct MCAPError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The operating system refused an open, read, write or seek.
        case io
        /// The file does not start (or end) with the MCAP magic.
        case notMCAP
        /// The file ends before a record or the footer is complete.
        case truncated
        /// A record's fields do not fit its declared length or contradict the spec.
        case malformed
        /// A CRC-32 stored in the file does not match the bytes.
        case crcMismatch
        /// A chunk names a compression this build cannot decode.
        case unsupportedCompression
        /// The compression library rejected the data.
        case compression
        /// The caller passed something the writer cannot encode (unknown channel id…).
        case invalidArgument
        /// Reading as asked would hold more memory than the reader's limit allows.
        case overLimit
    }

    public var kind: Kind
    public var message: String
    /// Byte offset in the file where the problem was found, when it concerns the file.
    public var offset: Int64?
    /// Messages fully read before the problem (reader only).
    public var messagesRead: Int?
    /// Bytes from the start of the file that were parsed completely (reader only).
    public var bytesReadable: Int64?

    public init(_ kind: Kind, _ message: String, offset: Int64? = nil,
                messagesRead: Int? = nil, bytesReadable: Int64? = nil) {
        self.kind = kind
        self.message = message
        self.offset = offset
        self.messagesRead = messagesRead
        self.bytesReadable = bytesReadable
    }

    public var description: String {
        var s = "MCAP \(kind.rawValue)"
        if let offset { s += " at offset \(offset)" }
        s += ": \(message)"
        if let messagesRead, let bytesReadable {
            s += " (\(messagesRead) messages in the first \(bytesReadable) bytes were readable)"
        }
        return s
    }
}
