/// The Recording module's one error: what went wrong, in which file and where in it.
///
/// `place` names the spot a human can look at: `"PRAGMA user_version"`, `"chunk 12 (track 3),
/// byte 40"`. Errors from bad input are always thrown, never trapped.
public struct RecordingError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// The file is not an SQLite database at all.
        case notSQLite
        /// An SQLite database, but not a `.tbag` (no trackbag tables).
        case notARecording
        /// Shorter than its own header says: cut off while copying or writing.
        case truncated
        /// Damaged content: SQLite corruption, a chunk that does not decode, counts that disagree.
        case corrupt
        /// Written by a newer trackbag whose format this one cannot read.
        case newerVersion
        /// Opening, creating or writing the file failed (permissions, disk full, exists).
        case io
        /// A caller passed something this API does not accept (unknown track id…).
        case invalidArgument
        /// Any other SQLite failure.
        case sqlite
    }

    public var kind: Kind
    public var message: String
    /// The file concerned, when there is one.
    public var file: String?
    /// Where in the file the problem is.
    public var place: String?

    public init(_ kind: Kind, _ message: String, file: String? = nil, place: String? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
        self.place = place
    }

    public var description: String {
        var s = ""
        if let file { s += file + ": " }
        if let place { s += place + ": " }
        return s + message
    }

    func inFile(_ path: String) -> RecordingError {
        var e = self
        if e.file == nil { e.file = path }
        return e
    }

    func at(_ place: String) -> RecordingError {
        var e = self
        e.place = e.place.map { place + ", " + $0 } ?? place
        return e
    }
}
