import TrackModel
/// A track as stored in a file: its row id and what the writer knew about it.
public struct RecordedTrack: Sendable, Hashable {
    public var id: Int
    public var info: TrackInfo
    public init(id: Int, info: TrackInfo) {
        self.id = id
        self.info = info
    }
}

/// One frame read back from a file.
public struct RecordedFrame: Sendable, Hashable {
    public var trackID: Int
    /// Unix epoch nanoseconds.
    public var receiveTimeNs: Int64
    /// Untouched, absent when the publisher set none.
    public var userTimestamp: UInt64?
    public var payload: [UInt8]

    public init(trackID: Int, receiveTimeNs: Int64, userTimestamp: UInt64?, payload: [UInt8]) {
        self.trackID = trackID
        self.receiveTimeNs = receiveTimeNs
        self.userTimestamp = userTimestamp
        self.payload = payload
    }
}

/// Which frames a read returns: tracks (nil = all) and an inclusive receive-time window.
public struct FrameSelection: Sendable, Hashable {
    public var trackIDs: Set<Int>?
    /// Absolute receive times (Unix ns), inclusive; nil = open end.
    public var startNs: Int64?
    public var endNs: Int64?

    public init(trackIDs: Set<Int>? = nil, startNs: Int64? = nil, endNs: Int64? = nil) {
        self.trackIDs = trackIDs
        self.startNs = startNs
        self.endNs = endNs
    }
}
