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

    public init(identity: String, track: String, topic: String, metadata: [String: String]) {
        self.identity = identity
        self.track = track
        self.topic = topic
        self.metadata = metadata
    }

    public var key: TrackKey { TrackKey(identity: identity, name: track) }

    /// Recording meta key holding the origins (a JSON array).
    public static let metaKey = "mcap.channels"
    /// Recording meta key naming the unit of every user timestamp in the file, when one is
    /// known (`ns` for files imported from MCAP, whose publish_time is in nanoseconds).
    public static let userTimestampUnitMetaKey = "user_timestamp_unit"

    /// What an MCAP import keeps in the recording's meta: the origin of each channel written by
    /// another tool, and `user_timestamp_unit = ns` when every channel's user timestamps are
    /// publish_time in ns (another tool's channels, or ours in `publish_time_ns` mode). Channels
    /// come from the summary, or from a scan of the file when its summary lists none. Two
    /// channels that become the same track leave that track out (it is written by the template).
    public static func importMeta(path: String, identity: String) throws -> [String: String] {
        let reader = try MCAPReader(path: path)
        var channels: [Channel] = []
        if let summary = try? reader.readSummary(), !summary.channels.isEmpty {
            channels = summary.channels.keys.sorted().compactMap { summary.channels[$0] }
        } else {
            do {
                while let record = try reader.next() {
                    if case .channel(let c) = record { channels.append(c) }
                }
            } catch is MCAPError {
                // The import itself reports a damaged file; keep the channels seen before it.
            }
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
            origins[key] = MCAPChannelOrigin(identity: key.identity, track: key.name, topic: c.topic, metadata: c.metadata)
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
