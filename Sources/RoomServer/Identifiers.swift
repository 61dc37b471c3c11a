/// Server-assigned ids in LiveKit's shape: a type prefix and 12 base62 characters
/// (livekit/protocol `utils/guid`: `RM_` room, `PA_` participant, `DTR_` data track,
/// `ND_` node). The SDK checks only the prefix of room and participant sids (docs/WIRE.md).
enum Identifiers {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    static func make(_ prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return prefix + String((0..<12).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
    }

    static func room() -> String { make("RM_") }
    static func participant() -> String { make("PA_") }
    static func dataTrack() -> String { make("DTR_") }
    static func node() -> String { make("ND_") }
}
