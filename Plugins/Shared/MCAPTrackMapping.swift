import Recording
import TrackModel

/// How trackbag tracks, frames and events map onto MCAP channels, messages and metadata; the
/// sink writes it and the source reads it back. Specified in `schemas/mcap-mapping.md`.
enum MCAPTrackMapping {
    // Channel metadata keys (schemas/mcap-mapping.md, "Channels").
    static let identityKey = "trackbag.identity"
    static let trackKey = "trackbag.track"
    static let sidKey = "trackbag.sid"
    static let pubHandleKey = "trackbag.pub_handle"
    static let encryptionKey = "trackbag.encryption"
    /// Present only when the track's frame encoding is known, so nil and "" stay distinct.
    static let frameEncodingKey = "trackbag.frame_encoding"
    /// How the user timestamp of each message is recovered: see `UserTimestampMode`.
    static let userTimestampKey = "trackbag.user_timestamp"
    /// On a companion channel: `user_timestamp`.
    static let roleKey = "trackbag.role"
    /// On a companion channel: the id of the data channel it carries timestamps for.
    static let companionOfKey = "trackbag.companion_of"
    static let companionRole = "user_timestamp"
    static let companionTopicSuffix = "/trackbag_user_timestamp"

    /// Metadata record name of a `SessionEvent` (schemas/mcap-mapping.md, "Events").
    static let eventRecordName = "trackbag.event"

    /// Where a data channel keeps its frames' user timestamps.
    enum UserTimestampMode: Equatable {
        /// `publish_time = user_timestamp × scale` (declared unit ns/us/ms); every frame on the
        /// channel has a user timestamp and the division is exact.
        case publishTime(unit: String, scale: UInt64)
        /// `publish_time = log_time`; a frame has a user timestamp iff a message on the
        /// companion channel with the same log_time comes right before it; its publish_time is
        /// the raw user timestamp.
        case companion

        var metadataValue: String {
            switch self {
            case .publishTime(let unit, _): return "publish_time_" + unit
            case .companion: return "companion"
            }
        }

        init?(metadataValue: String) {
            switch metadataValue {
            case "companion": self = .companion
            case "publish_time_ns": self = .publishTime(unit: "ns", scale: 1)
            case "publish_time_us": self = .publishTime(unit: "us", scale: 1_000)
            case "publish_time_ms": self = .publishTime(unit: "ms", scale: 1_000_000)
            default: return nil
            }
        }

        static func scale(forUnit unit: String) -> UInt64? {
            switch unit {
            case "ns": return 1
            case "us": return 1_000
            case "ms": return 1_000_000
            default: return nil
            }
        }
    }

    static func channelMetadata(_ track: TrackInfo, mode: UserTimestampMode) -> [String: String] {
        var m = [identityKey: track.identity, trackKey: track.name, encryptionKey: track.encryption.rawValue,
                 userTimestampKey: mode.metadataValue]
        if let sid = track.sid { m[sidKey] = sid }
        if let h = track.pubHandle { m[pubHandleKey] = String(h) }
        if let e = track.frameEncoding { m[frameEncodingKey] = e }
        return m
    }

    static func topic(_ template: String, _ track: TrackInfo) -> String {
        template.replacingAll("{identity}", with: track.identity).replacingAll("{track}", with: track.name)
    }

    /// Identity and track of a channel written by another tool, from its topic:
    /// `/a/b` → (a, b), `/a/b/c` → (a, b/c), `a/b` → (a, b), `/imu` or `imu` → (fallback, imu).
    static func trackKey(fromTopic topic: String, fallbackIdentity: String) -> TrackKey {
        let trimmed = topic.hasPrefix("/") ? String(topic.dropFirst()) : topic
        if let slash = trimmed.firstIndex(of: "/") {
            let identity = String(trimmed[..<slash])
            let name = String(trimmed[trimmed.index(after: slash)...])
            if !identity.isEmpty && !name.isEmpty { return TrackKey(identity: identity, name: name) }
        }
        return TrackKey(identity: fallbackIdentity, name: trimmed.isEmpty ? topic : trimmed)
    }

    static func eventMetadata(_ e: SessionEvent) -> [String: String] {
        var m = ["time_ns": String(e.timeNs), "kind": e.kind.rawValue]
        if let v = e.identity { m["identity"] = v }
        if let v = e.track { m["track"] = v }
        if let v = e.count { m["count"] = String(v) }
        if let v = e.detail { m["detail"] = v }
        return m
    }

    static func event(fromMetadata m: [String: String]) -> SessionEvent? {
        guard let t = m["time_ns"].flatMap(Int64.init), let kind = m["kind"].flatMap(SessionEvent.Kind.init(rawValue:))
        else { return nil }
        return SessionEvent(timeNs: t, kind: kind, identity: m["identity"], track: m["track"],
                            count: m["count"].flatMap(Int64.init), detail: m["detail"])
    }
}

extension String {
    /// Literal replacement without Foundation.
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = self[...]
        while let r = rest.range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        out += rest
        return out
    }
}

extension Substring {
    fileprivate func range(of target: String) -> Range<Substring.Index>? {
        guard !target.isEmpty, count >= target.count else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(target) { return i..<index(i, offsetBy: target.count) }
            i = index(after: i)
        }
        return nil
    }
}
