/// Why bytes did not decode: what was expected and at which byte offset. Stages turn it into a
/// `PipelineError` naming the file and line, or count the frame as undecodable.
public struct CodecError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    /// Byte offset into the input where the problem was found.
    public var offset: Int
    public init(_ message: String, at offset: Int) {
        self.message = message
        self.offset = offset
    }
    public var description: String { "\(message) at byte \(offset)" }
}

/// Nesting limit for every decoder: recursion on attacker-controlled depth would overflow the
/// stack; telemetry is a few levels deep.
let maximumNestingDepth = 128
