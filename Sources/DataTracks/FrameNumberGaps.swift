/// Frames a receiver never saw, counted from the frame numbers it did see. A publisher numbers
/// each track's frames consecutively (u16, wrapping; docs/WIRE.md), so a jump means frames
/// were lost before they reached us, by the sender's queue, the link or the server, and none of
/// their packets arrived (a frame with some packets is the depacketizer's to count). The
/// channel is unordered, so a frame may arrive after a later one: if it was counted missing it
/// is taken back off the count; a repeat changes nothing. Pure: feed it every frame number
/// observed, delivered or dropped.
public struct FrameNumberGaps: Sendable, Equatable {
    /// How far behind the newest a late frame is still recognised; older numbers counted
    /// missing stay missing. Bounds the memory whatever numbers a peer sends.
    public static let window = 1_024

    private var newest: UInt16?
    private var missing: Set<UInt16> = []

    public init() {}

    /// Observes frame number `number`; returns the change in frames never seen: the size of a
    /// jump ahead, −1 for a frame counted missing that arrived late, 0 otherwise. A distance of
    /// half the number space or more reads as behind (RFC 1982 serial number arithmetic), so a
    /// wrap or a very late frame never counts thousands missing.
    public mutating func observe(_ number: UInt16) -> Int {
        guard let newest else {
            self.newest = number
            return 0
        }
        let ahead = number &- newest
        if ahead == 0 { return 0 }
        if ahead < 0x8000 {
            let skipped = Int(ahead) - 1
            // Remember the skipped numbers that may still arrive (the last `window` of them).
            var n = number &- UInt16(min(skipped, Self.window))
            while n != number {
                missing.insert(n)
                n &+= 1
            }
            self.newest = number
            if missing.count > 2 * Self.window {
                missing = missing.filter { number &- $0 <= UInt16(Self.window) }
            }
            return skipped
        }
        return missing.remove(number) == nil ? 0 : -1
    }
}
