/// The one error of the shared vocabulary: text a person typed (a track glob, a duration) that
/// does not parse, with the column where it goes wrong, or an output path that would destroy an
/// input (`OutputFile`).
public struct TrackModelError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// A bad `IDENTITY/NAME` glob.
        case badGlob
        /// A bad time offset such as `1.5x`.
        case badTimeOffset
        /// An output path that is (or links to) a file the same run reads.
        case outputIsInput
        /// A file operation failed (rename…).
        case io
    }

    public var kind: Kind
    public var message: String
    /// Where in the text: `"glob column 7"`, `"column 3"`.
    public var place: String?

    public init(_ kind: Kind, _ message: String, place: String? = nil) {
        self.kind = kind
        self.message = message
        self.place = place
    }

    public var description: String {
        if let place { return place + ": " + message }
        return message
    }
}
