/// Something that happened in a session besides frames: stored in the `events` table, carried
/// through pipelines beside frames, exported as MCAP metadata.
public struct SessionEvent: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case join, leave, publish, unpublish, reconnect
        /// Frames lost before they reached us (`count` says how many, `detail` why).
        case drop
        /// A gap noticed in a track (sequence or time), `detail` says which.
        case gap
        case note
        /// A flight-recorder snapshot fired (`detail`: what fired it and the window's end;
        /// `identity`/`track`: the frame that fired it, if one did).
        case snapshot
    }
    /// Unix epoch, nanoseconds.
    public var timeNs: Int64
    public var kind: Kind
    public var identity: String?
    public var track: String?
    public var count: Int64?
    public var detail: String?

    public init(timeNs: Int64, kind: Kind, identity: String? = nil, track: String? = nil,
                count: Int64? = nil, detail: String? = nil) {
        self.timeNs = timeNs
        self.kind = kind
        self.identity = identity
        self.track = track
        self.count = count
        self.detail = detail
    }
}
