/// What a receiver lost of one track, counted from the frame numbers it saw. A publisher
/// numbers each track's frames consecutively (u16, wrapping; docs/WIRE.md), so a skipped number
/// is a frame none of whose packets reached us (lost by the sender's queue, the link or the
/// server: *missing*), and a number the depacketizer gave up on is a frame of which only some
/// packets came (*incomplete*).
///
/// Each lost frame is counted once, under one of the two. The channel is unordered and links
/// reorder, so a skipped number may still arrive, whole or in part; a count once reported
/// cannot be taken back from a recording's events, so a skipped number is only counted missing
/// once it has stayed away for `settleNs` (and the depacketizer holds none of its packets). A
/// number given up on twice (its tail evicted, then a late start opening a partial that could
/// not complete either) is one incomplete frame. Pure: feed it every frame number delivered or
/// dropped, and the time; `settle` and `close` return what became final.
public struct FrameLossLedger: Sendable {
    /// A change in the counts: frames counted missing and frames counted incomplete. Negative
    /// when a frame counted missing arrived after all (only after `settleNs`).
    public struct Change: Sendable, Equatable {
        public var missing = 0
        public var incomplete = 0
        public init(missing: Int = 0, incomplete: Int = 0) {
            self.missing = missing
            self.incomplete = incomplete
        }
        public var isZero: Bool { missing == 0 && incomplete == 0 }
        public static func += (a: inout Change, b: Change) {
            a.missing += b.missing
            a.incomplete += b.incomplete
        }
    }

    /// How far behind the newest a late frame is still recognised; older numbers counted
    /// missing stay missing. Bounds the memory whatever numbers a peer sends.
    public static let window = 1_024
    /// How long a skipped number may still arrive before it counts as missing: longer than the
    /// reordering our transport allows (SCTP arrival order holds at most 60 ms) and than a
    /// depacketizer waits for a frame's start at the rates robots send.
    public static let settleNs: Int64 = 1_000_000_000

    private var newest: UInt16?
    /// Skipped numbers not counted yet, in the order they were skipped (so by time); an entry
    /// whose number is no longer in `waiting` arrived meanwhile and is skipped over.
    private var skipped: [(number: UInt16, sinceNs: Int64)] = []
    private var skippedHead = 0
    private var waiting: Set<UInt16> = []
    /// Numbers counted missing (a late arrival takes one back) and counted incomplete.
    private var missing: Set<UInt16> = []
    private var incomplete: Set<UInt16> = []

    public init() {}

    /// Frame `number` was delivered whole.
    public mutating func delivered(_ number: UInt16, nowNs: Int64) -> Change {
        var change = observe(number, nowNs: nowNs)
        // Counted incomplete, then whole after all (its packets came again): not lost.
        if incomplete.remove(number) != nil { change.incomplete -= 1 }
        return change
    }

    /// The depacketizer gave up on frame `number` (some of its packets came).
    public mutating func dropped(_ number: UInt16, nowNs: Int64) -> Change {
        var change = observe(number, nowNs: nowNs)
        if incomplete.insert(number).inserted { change.incomplete += 1 }
        return change
    }

    /// Skipped numbers that stayed away `settleNs` now count missing, unless `holding` says the
    /// depacketizer still has packets of that frame (it will deliver or drop it).
    public mutating func settle(nowNs: Int64, holding: (UInt16) -> Bool = { _ in false }) -> Change {
        var change = Change()
        var stillHeld: [(number: UInt16, sinceNs: Int64)] = []
        while skippedHead < skipped.count, nowNs - skipped[skippedHead].sinceNs >= Self.settleNs {
            let entry = skipped[skippedHead]
            skippedHead += 1
            guard waiting.contains(entry.number) else { continue }
            if holding(entry.number) {
                stillHeld.append((entry.number, nowNs))
                continue
            }
            waiting.remove(entry.number)
            missing.insert(entry.number)
            change.missing += 1
        }
        skipped.append(contentsOf: stillHeld)
        compact()
        return change
    }

    /// The track ends here (unsubscribed, re-joined, handle reassigned): every skipped number
    /// still waiting counts missing now.
    public mutating func close() -> Change {
        let change = Change(missing: waiting.count)
        missing.formUnion(waiting)
        waiting = []
        skipped = []
        skippedHead = 0
        return change
    }

    // MARK: Private

    private mutating func observe(_ number: UInt16, nowNs: Int64) -> Change {
        guard let newest else {
            self.newest = number
            return Change()
        }
        let ahead = number &- newest
        if ahead == 0 { return Change() }
        // A distance of half the number space or more reads as behind (RFC 1982 serial number
        // arithmetic), so a wrap or a very late frame never counts thousands missing.
        guard ahead < 0x8000 else {
            if waiting.remove(number) != nil { return Change() }
            return Change(missing: missing.remove(number) == nil ? 0 : -1)
        }
        var change = Change()
        let jumped = Int(ahead) - 1
        // Beyond the window a skipped number could not be recognised late: missing at once.
        let remembered = min(jumped, Self.window)
        change.missing += jumped - remembered
        var n = number &- UInt16(remembered)
        while n != number {
            waiting.insert(n)
            skipped.append((n, nowNs))
            n &+= 1
        }
        self.newest = number
        // Numbers fallen out of the window are out of recognition: settled as missing now.
        if waiting.count > Self.window {
            for old in waiting where number &- old > UInt16(Self.window) {
                waiting.remove(old)
                missing.insert(old)
                change.missing += 1
            }
        }
        if missing.count > 2 * Self.window {
            missing = missing.filter { number &- $0 <= UInt16(Self.window) }
        }
        if incomplete.count > 2 * Self.window {
            incomplete = incomplete.filter { number &- $0 <= UInt16(Self.window) }
        }
        compact()
        return change
    }

    /// Drops consumed and stale entries of `skipped` once they outweigh the live ones.
    private mutating func compact() {
        guard (skippedHead > 64 && skippedHead * 2 > skipped.count) || skipped.count > 4 * Self.window else { return }
        skipped = skipped[skippedHead...].filter { waiting.contains($0.number) }
        skippedHead = 0
    }
}
