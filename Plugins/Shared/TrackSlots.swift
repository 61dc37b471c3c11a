import TrackModel

/// Per-track state of a stage, found by the frame's track (identity, name) without hashing in
/// the common case. Frames of a pipeline's few tracks interleave in a steady rhythm, so the slot
/// after the one found last, then the last one itself, are tried first, comparing the two
/// strings (equal strings that share storage compare by their bits); a dictionary by
/// `TrackKey` finds any other, so many tracks in any order cost one hash each, as before.
///
/// Why: `downsample` hashed `frame.track.key` (two strings, SipHash) for every frame, which cost
/// more than the rule it applied (docs/schemas.md, "Speed").
struct TrackSlots<State> {
    private var keys: [TrackKey] = []
    /// Slot of each key.
    private var slots: [TrackKey: Int] = [:]
    /// Slot found last.
    private var last = 0
    /// The state of each slot, addressed by what `slot(for:)` returns.
    var states: [State] = []

    init() {}

    /// The slot of `track`'s state; a new slot holding `initial` when the track is new.
    @inline(__always)
    mutating func slot(for track: TrackInfo, initial: State) -> Int {
        let n = keys.count
        if n > 0 {
            let next = last + 1 == n ? 0 : last + 1
            if Self.names(keys[next], track) {
                last = next
                return next
            }
            if Self.names(keys[last], track) { return last }
        }
        return lookUp(track, initial: initial)
    }

    @inline(__always)
    private static func names(_ key: TrackKey, _ track: TrackInfo) -> Bool {
        key.identity == track.identity && key.name == track.name
    }

    private mutating func lookUp(_ track: TrackInfo, initial: State) -> Int {
        let key = track.key
        if let found = slots[key] {
            last = found
            return found
        }
        keys.append(key)
        states.append(initial)
        slots[key] = keys.count - 1
        last = keys.count - 1
        return last
    }
}
