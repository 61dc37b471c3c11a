/// The Rosbag2 module's one error: what is wrong with which file, and where in it.
///
/// Every problem of a bag someone hands us is thrown as one of these, never trapped: a missing
/// table, a message whose `topic_id` names no topic, a file that is not a database.
public struct Rosbag2Error: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// Not an SQLite database, or SQLite reports the database damaged.
        case corrupt
        /// A table or column rosbag2 always writes is not there.
        case missingTable
        /// A row that breaks rosbag2's schema: a `topic_id` with no topic, a NULL or mistyped
        /// column.
        case badRow
        /// Opening or reading the file failed (missing, permissions).
        case io
        /// Readable, but something this reader does not handle (a bag left mid-write).
        case unsupported
    }

    public var kind: Kind
    public var message: String
    public var file: String
    /// Where in the file: `"table messages, row 12"`; nil for the file as a whole.
    public var place: String?

    public init(_ kind: Kind, _ message: String, file: String, place: String? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
        self.place = place
    }

    public var description: String {
        var s = file + ": "
        if let place { s += place + ": " }
        return s + message
    }
}
