import Observability

/// What `trackbag serve` can tell while it runs: per room its participants and tracks, per
/// participant the `_data_track` packets it published and what its subscriber queue forwarded to
/// it or dropped (the counts the server logs when the participant leaves, docs/losses.md).
public struct ServerStatistics: Sendable, Hashable {
    public struct Room: Sendable, Hashable {
        public var name: String
        /// Data tracks published in the room.
        public var tracks: Int
        public var participants: [Participant] = []
    }

    public struct Participant: Sendable, Hashable {
        public var identity: String
        public var packetsPublished: UInt64
        public var bytesPublished: UInt64
        /// Packets of others' tracks sent to this participant as a subscriber.
        public var packetsForwarded: UInt64
        /// Dropped by its subscriber queue (over its delay or byte bound, docs/serve-limits.md).
        public var packetsDropped: UInt64
        /// Taken from the queue but not sent (no channel yet, or the channel refused it).
        public var packetsUnsent: UInt64
        /// Waiting in its subscriber queue now.
        public var queuedPackets: Int
    }

    public var rooms: [Room] = []

    public init() {}

    /// The figures as metric samples (docs/operations.md lists them).
    public func metricSamples() -> [MetricSample] {
        var samples: [MetricSample] = [.gauge("trackbag_server_rooms", [], Double(rooms.count))]
        for room in rooms {
            let labels = [("room", room.name)]
            samples.append(.gauge("trackbag_server_room_participants", labels, Double(room.participants.count)))
            samples.append(.gauge("trackbag_server_room_tracks", labels, Double(room.tracks)))
            for p in room.participants {
                let labels = labels + [("participant", p.identity)]
                samples.append(.counter("trackbag_server_packets_published_total", labels, p.packetsPublished))
                samples.append(.counter("trackbag_server_bytes_published_total", labels, p.bytesPublished))
                samples.append(.counter("trackbag_server_packets_forwarded_total", labels, p.packetsForwarded))
                samples.append(.counter("trackbag_server_packets_dropped_total", labels + [("reason", "queue_full")], p.packetsDropped))
                samples.append(.counter("trackbag_server_packets_dropped_total", labels + [("reason", "unsent")], p.packetsUnsent))
                samples.append(.gauge("trackbag_server_subscriber_queue_packets", labels, Double(p.queuedPackets)))
            }
        }
        return samples
    }
}
