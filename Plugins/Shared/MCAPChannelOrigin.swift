import Foundation
import MCAP
import Pipeline
import TrackModel

/// A channel of another tool's MCAP file as it was (topic and metadata), kept in the meta of the
/// recording `trackbag import` writes, so `trackbag export --format mcap` writes the channel back
/// the same (schemas/mcap-mapping.md, "Round trips").
public struct MCAPChannelOrigin: Sendable, Hashable, Codable {
    public var identity: String
    public var track: String
    public var topic: String
    public var metadata: [String: String]
    /// How the channel's message sequences went, when a rule gives them all back; nil when
    /// they follow none (export then numbers the messages from 0).
    public var sequence: SequenceRule?

    /// Sequences `first, first + step, first + 2·step…` in log-time order (step 0: one
    /// constant, what writers that leave `sequence` at its default give; step 1: a counter).
    public struct SequenceRule: Sendable, Hashable, Codable {
        public var first: UInt32
        public var step: UInt32
        public init(first: UInt32, step: UInt32) {
            self.first = first
            self.step = step
        }
    }

    public init(identity: String, track: String, topic: String, metadata: [String: String],
                sequence: SequenceRule? = nil) {
        self.identity = identity
        self.track = track
        self.topic = topic
        self.metadata = metadata
        self.sequence = sequence
    }

    public var key: TrackKey { TrackKey(identity: identity, name: track) }

    /// Recording meta key holding the origins (a JSON array).
    public static let metaKey = "mcap.channels"
    /// Recording meta key naming the unit of every user timestamp in the file, when one is
    /// known (`ns` for files imported from MCAP, whose publish_time is in nanoseconds).
    public static let userTimestampUnitMetaKey = "user_timestamp_unit"

    /// What an MCAP import keeps in the recording's meta: the origin of each channel written by
    /// another tool, and `user_timestamp_unit = ns` when every channel's user timestamps are
    /// publish_time in ns (another tool's channels, or ours in `publish_time_ns` mode). It reads
    /// the whole file once (channels, and each channel's sequences to find their rule). Two
    /// channels that become the same track leave that track out (it is written by the template).
    public static func importMeta(path: String, identity: String) throws -> [String: String] {
        let reader = try MCAPReader(path: path)
        var channels: [Channel] = []
        var sequences: [UInt16: SequenceScan] = [:]
        do {
            while let record = try reader.next() {
                switch record {
                case .channel(let c): channels.append(c)
                case .message(let m): sequences[m.channelId, default: SequenceScan()].add(m)
                default: break
                }
            }
        } catch is MCAPError {
            // The import itself reports a damaged file; keep what was seen before it.
        }
        var allNs = !channels.isEmpty
        var origins: [TrackKey: MCAPChannelOrigin] = [:]
        var clashes = Set<TrackKey>()
        for c in channels {
            if c.metadata[MCAPTrackMapping.roleKey] != nil { continue }
            if let mode = c.metadata[MCAPTrackMapping.userTimestampKey] {
                if mode != "publish_time_ns" { allNs = false }
                continue
            }
            let key = MCAPTrackMapping.trackKey(fromTopic: c.topic, fallbackIdentity: identity)
            if let seen = origins[key], seen.topic != c.topic || seen.metadata != c.metadata { clashes.insert(key) }
            origins[key] = MCAPChannelOrigin(identity: key.identity, track: key.name, topic: c.topic, metadata: c.metadata,
                                             sequence: sequences[c.id]?.rule)
        }
        for key in clashes { origins[key] = nil }
        var meta: [String: String] = [:]
        if allNs { meta[userTimestampUnitMetaKey] = "ns" }
        if !origins.isEmpty {
            let list = origins.keys.sorted().compactMap { origins[$0] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            meta[metaKey] = String(decoding: try encoder.encode(list), as: UTF8.self)
        }
        return meta
    }

    /// Follows one channel's sequences in file order.
    struct SequenceScan {
        var first: UInt32 = 0
        var last: UInt32 = 0
        var lastTime: UInt64 = 0
        var count = 0
        var constant = true
        var counter = true
        /// Log times never go back, so file order is the log-time order export writes in.
        var ordered = true

        mutating func add(_ m: Message) {
            if count == 0 {
                first = m.sequence
            } else {
                constant = constant && m.sequence == first
                counter = counter && m.sequence == last &+ 1
                ordered = ordered && m.logTime >= lastTime
            }
            last = m.sequence
            lastTime = m.logTime
            count += 1
        }

        var rule: SequenceRule? {
            guard count > 0 else { return nil }
            if constant { return SequenceRule(first: first, step: 0) }
            if counter && ordered { return SequenceRule(first: first, step: 1) }
            return nil
        }
    }

    /// The origins a recording's meta holds, by track; empty when it holds none.
    public static func fromRecordingMeta(_ meta: [String: String]) throws -> [TrackKey: MCAPChannelOrigin] {
        guard let text = meta[metaKey] else { return [:] }
        let list: [MCAPChannelOrigin]
        do {
            list = try JSONDecoder().decode([MCAPChannelOrigin].self, from: Data(text.utf8))
        } catch {
            throw PipelineError(message: "recording meta '\(metaKey)' is not a JSON list of channel origins: \(error)")
        }
        var out: [TrackKey: MCAPChannelOrigin] = [:]
        for o in list { out[o.key] = o }
        return out
    }
}
