/// Hands received SCTP packets to usrsctp in TSN order when the path reorders them, waiting a
/// short, bounded time for a gap to fill.
///
/// Why: usrsctp (0.9.5, the system library) aborts an association that carries unordered,
/// partially reliable messages larger than one packet when their DATA chunks arrive out of
/// order: a complete unordered message whose TSN follows a reassembly left unfinished on the
/// same stream (after a FORWARD-TSN abandoned its end) is taken for a protocol violation,
/// "Illegal message sequence, missing end for MID" (usrsctp's tracker discusses the check as
/// "receiving a complete unordered message while reassembling another message causes the
/// association to be aborted"). LiveKit data tracks are exactly that (`_data_track`, unordered,
/// `maxRetransmits: 0`, packets up to 16,000 bytes), so on a path with jitter the association
/// died and the client reconnected, losing frames. Delivered in TSN order, usrsctp sees what a
/// path without reordering gives it, gaps from real losses included.
///
/// Rules (RFC 4960 §3.3.1 DATA, RFC 3758 §3.2 FORWARD-TSN; serial arithmetic, RFC 1982):
/// - a packet without DATA or FORWARD-TSN chunks (SACK, HEARTBEAT, INIT…) passes at once;
/// - a packet whose lowest DATA TSN is at most the next expected one passes, and so does every
///   held packet that then becomes next;
/// - a packet beyond a gap waits until the gap fills, a FORWARD-TSN skips it, `maxHold` has
///   passed since it arrived, or `maxHeldPackets` are waiting; then everything held goes, in
///   TSN order;
/// - INIT / INIT ACK (a new or restarted association) reset the expectation.
/// Pure: the owner passes the time in and calls `release(now:)` at `nextDeadline`.
struct SCTPArrivalOrder: Sendable {
    /// Longest a packet waits for an earlier one: more than the reordering depth of the paths
    /// this is for (tens of milliseconds of jitter), far less than an RTO (200 ms minimum).
    static let maxHold: Duration = .milliseconds(60)
    static let maxHeldPackets = 512

    private struct Held: Sendable {
        let lowest: UInt32
        let highest: UInt32
        let packet: [UInt8]
        let arrived: ContinuousClock.Instant
    }

    /// The TSN after the highest one passed on (nil until the first DATA chunk).
    private(set) var nextExpected: UInt32?
    private var held: [Held] = []
    /// Packets that waited, and those released by the time limit (a gap that never filled).
    private(set) var packetsHeld = 0
    private(set) var releasedByTimeout = 0

    var heldCount: Int { held.count }

    var nextDeadline: ContinuousClock.Instant? {
        held.map(\.arrived).min().map { $0 + Self.maxHold }
    }

    /// One packet from the peer; returns the packets to hand to SCTP now, in order.
    mutating func push(_ packet: [UInt8], now: ContinuousClock.Instant) -> [[UInt8]] {
        let chunks = Self.scan(packet)
        if chunks.restart {
            nextExpected = nil
            let out = held.map(\.packet) + [packet]
            held = []
            return out
        }
        if let cumulative = chunks.forwardTSN {
            // The sender gave up on everything up to `cumulative`: nothing there to wait for.
            advance(to: cumulative &+ 1)
        }
        guard let lowest = chunks.lowestData, let highest = chunks.highestData else {
            return [packet] + (chunks.forwardTSN == nil ? [] : drainReady())
        }
        guard let expected = nextExpected, Self.greater(lowest, expected) else {
            advance(to: highest &+ 1)
            return [packet] + drainReady()
        }
        held.append(Held(lowest: lowest, highest: highest, packet: packet, arrived: now))
        packetsHeld += 1
        if held.count > Self.maxHeldPackets { return releaseAll() }
        return []
    }

    /// Packets whose wait is over (with everything held behind them), in TSN order.
    mutating func release(now: ContinuousClock.Instant) -> [[UInt8]] {
        guard let deadline = nextDeadline, deadline <= now else { return [] }
        releasedByTimeout += 1
        return releaseAll()
    }

    // MARK: - Private

    private mutating func releaseAll() -> [[UInt8]] {
        held.sort { Self.greater($1.lowest, $0.lowest) }
        let out = held.map(\.packet)
        for item in held { advance(to: item.highest &+ 1) }
        held = []
        return out
    }

    private mutating func advance(to tsn: UInt32) {
        if let expected = nextExpected, !Self.greater(tsn, expected) { return }
        nextExpected = tsn
    }

    /// Held packets that are next now, in TSN order.
    private mutating func drainReady() -> [[UInt8]] {
        var out: [[UInt8]] = []
        held.sort { Self.greater($1.lowest, $0.lowest) }
        while let first = held.first, let expected = nextExpected, !Self.greater(first.lowest, expected) {
            held.removeFirst()
            advance(to: first.highest &+ 1)
            out.append(first.packet)
        }
        return out
    }

    /// a > b in 32-bit serial number arithmetic (RFC 1982).
    static func greater(_ a: UInt32, _ b: UInt32) -> Bool {
        a != b && (a &- b) < 0x8000_0000
    }

    /// What the packet's chunks say about TSNs (the common header is 12 bytes, each chunk
    /// type, flags, length, padded to 4; the packet was validated before).
    static func scan(_ packet: [UInt8]) -> (lowestData: UInt32?, highestData: UInt32?, forwardTSN: UInt32?, restart: Bool) {
        var lowest: UInt32?
        var highest: UInt32?
        var forward: UInt32?
        var restart = false
        var offset = 12
        while offset + 4 <= packet.count {
            let type = packet[offset]
            let length = Int(packet[offset + 2]) << 8 | Int(packet[offset + 3])
            guard length >= 4, offset + length <= packet.count else { break }
            func u32(_ at: Int) -> UInt32 {
                UInt32(packet[at]) << 24 | UInt32(packet[at + 1]) << 16 | UInt32(packet[at + 2]) << 8 | UInt32(packet[at + 3])
            }
            switch type {
            case 0 where length >= 16:  // DATA: TSN after the chunk header
                let tsn = u32(offset + 4)
                if lowest.map({ greater($0, tsn) }) ?? true { lowest = tsn }
                if highest.map({ greater(tsn, $0) }) ?? true { highest = tsn }
            case 192 where length >= 8:  // FORWARD TSN: the new cumulative TSN
                let tsn = u32(offset + 4)
                if forward.map({ greater(tsn, $0) }) ?? true { forward = tsn }
            case 1, 2:  // INIT, INIT ACK
                restart = true
            default:
                break
            }
            offset += (length + 3) & ~3
        }
        return (lowest, highest, forward, restart)
    }
}
