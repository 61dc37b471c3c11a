import LiveKitProtocol

/// Which remote track each subscriber handle carries: the server assigns a handle per
/// subscription and sends the whole map in every `DataTrackSubscriberHandles` (docs/WIRE.md),
/// so each snapshot replaces the previous one; a handle missing from it is gone.
struct SubscriberHandleMap: Sendable, Equatable {
    struct Entry: Sendable, Hashable {
        var publisherIdentity: String
        var publisherSid: String
        var trackSid: String
    }

    private(set) var entries: [UInt16: Entry] = [:]
    /// Handles the snapshot carried outside 1…65535, skipped.
    private(set) var invalidHandles = 0

    init() {}

    /// Replaces the map with `snapshot`; returns handles that were removed or now name another track.
    @discardableResult
    mutating func apply(_ snapshot: Livekit_DataTrackSubscriberHandles) -> Set<UInt16> {
        var next: [UInt16: Entry] = [:]
        for (raw, track) in snapshot.subHandles {
            guard let handle = UInt16(exactly: raw), handle != 0 else {
                invalidHandles += 1
                continue
            }
            next[handle] = Entry(publisherIdentity: track.publisherIdentity, publisherSid: track.publisherSid,
                                 trackSid: track.trackSid)
        }
        var changed = Set<UInt16>()
        for (handle, old) in entries where next[handle] != old { changed.insert(handle) }
        entries = next
        return changed
    }

    subscript(handle: UInt16) -> Entry? { entries[handle] }

    /// Forgets everything (a new signal session starts with an empty map).
    mutating func reset() { entries = [:] }
}
