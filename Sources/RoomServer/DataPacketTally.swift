import Foundation
import LiveKitProtocol
import Synchronization

/// What became of the `DataPacket`s one participant sent on `_reliable`/`_lossy`: relayed (and
/// to how many members), or dropped and why. The room counts, the session logs it when the
/// participant leaves.
final class DataPacketTally: Sendable {
    enum Drop: Hashable, Sendable {
        /// The sender has no `canPublishData`.
        case notAllowed
        /// Not a `DataPacket`.
        case malformed
        /// A reliable `sequence` already relayed, or a user-packet `nonce` seen recently.
        case repeated
        /// LiveKit relays it to nobody (`RelayedDataPacket.NotRelayed`).
        case notRelayed(RelayedDataPacket.NotRelayed)
    }

    struct Counts: Equatable, Sendable {
        var relayed = 0
        /// Copies delivered to members' queues.
        var deliveries = 0
        var dropped: [Drop: Int] = [:]

        var droppedTotal: Int { dropped.values.reduce(0, +) }
    }

    private let state = Mutex(Counts())

    func relayed(to recipients: Int) {
        state.withLock {
            $0.relayed += 1
            $0.deliveries += recipients
        }
    }

    func drop(_ reason: Drop) {
        state.withLock { $0.dropped[reason, default: 0] += 1 }
    }

    var counts: Counts { state.withLock { $0 } }

    /// "3 relayed (5 copies), 2 dropped (1 repeated, 1 not allowed)", or nil when none were sent.
    var summary: String? {
        let counts = self.counts
        guard counts.relayed + counts.droppedTotal > 0 else { return nil }
        var text = "\(counts.relayed) relayed (\(counts.deliveries) copies), \(counts.droppedTotal) dropped"
        if !counts.dropped.isEmpty {
            let parts = counts.dropped.map { "\($0.value) \(Self.name($0.key))" }.sorted()
            text += " (" + parts.joined(separator: ", ") + ")"
        }
        return text
    }

    private static func name(_ drop: Drop) -> String {
        switch drop {
        case .notAllowed: "without canPublishData"
        case .malformed: "malformed"
        case .repeated: "repeated"
        case .notRelayed(.transcriptionFromNonAgent): "transcriptions from a non-agent"
        case .notRelayed(.metrics): "metrics"
        }
    }
}

/// The user-packet nonces a room saw last, to drop a packet sent twice (a client re-sends
/// after a reconnect). livekit-server `pkg/rtc/user_packet_deduper.go`: only a nonce of exactly
/// 16 bytes (a UUID) counts, and the last 100 are remembered.
struct UserPacketNonces: Sendable {
    static let capacity = 100
    private var recent: [Data] = []
    private var next = 0
    private var seen: Set<Data> = []

    /// True when `nonce` was seen among the last `capacity`; remembers it otherwise.
    mutating func isRepeat(_ nonce: Data) -> Bool {
        guard nonce.count == 16 else { return false }
        if seen.contains(nonce) { return true }
        if recent.count < Self.capacity {
            recent.append(nonce)
        } else {
            seen.remove(recent[next])
            recent[next] = nonce
            next = (next + 1) % Self.capacity
        }
        seen.insert(nonce)
        return false
    }
}
