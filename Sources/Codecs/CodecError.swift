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

/// Longest JSON text a non-text map key may become (CBOR and MessagePack keys may be any item;
/// `Value` keys are strings). Without a limit, keys nested in keys double per level: each level
/// escapes the quotes and backslashes of the text below it, so 116 bytes of CBOR took seconds and
/// could take any amount of memory.
let maximumMapKeyBytes = 4096

/// A decoded map key as `Value` keeps it: text as is, anything else as its JSON text, refused
/// beyond `maximumMapKeyBytes` before that text is written.
func mapKeyText(_ key: Value, format: String, at offset: Int) throws(CodecError) -> String {
    if case .string(let text) = key { return text }
    var budget = maximumMapKeyBytes
    let tooLong = CodecError("\(format) map key longer than \(maximumMapKeyBytes) bytes as JSON text", at: offset)
    guard key.jsonTextMayFit(&budget) else { throw tooLong }
    let text = JSONText.text(key)
    guard text.utf8.count <= maximumMapKeyBytes else { throw tooLong }
    return text
}

extension Value {
    /// Subtracts a lower bound of this value's JSON text length from `budget`; false as soon as
    /// the budget is spent, so the walk costs at most about `budget` steps.
    func jsonTextMayFit(_ budget: inout Int) -> Bool {
        switch self {
        case .string(let s): budget -= s.utf8.count + 2
        case .bytes(let b): budget -= b.count + 2
        case .array(let items):
            budget -= 2
            for item in items {
                guard budget >= 0, item.jsonTextMayFit(&budget) else { return false }
            }
        case .object(let members):
            budget -= 2
            for member in members {
                budget -= member.key.utf8.count + 3
                guard budget >= 0, member.value.jsonTextMayFit(&budget) else { return false }
            }
        case .null, .bool, .int, .uint, .double: budget -= 1
        }
        return budget >= 0
    }
}
