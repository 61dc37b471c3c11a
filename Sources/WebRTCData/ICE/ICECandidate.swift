/// An ICE candidate and its SDP line (RFC 8839 §5.1):
/// ```
/// candidate:<foundation> <component-id> <transport> <priority> <address> <port> typ <type>
///           [raddr <address>] [rport <port>] *(<extension-name> <extension-value>)
/// ```
/// e.g. `candidate:28d09117 1 udp 2130706431 10.99.0.1 56664 typ host generation 0`.
/// `address` stays text: browsers may send mDNS names (`….local`) that are no IP literal;
/// `transportAddress` is nil for those and the agent skips them.
public struct ICECandidate: Hashable, Sendable, CustomStringConvertible {
    /// RFC 8445 §5.1.1: host, server-reflexive, peer-reflexive, relayed.
    public enum Kind: String, Hashable, Sendable {
        case host, srflx, prflx, relay

        /// RFC 8445 §5.1.2.2 recommended type preferences.
        var typePreference: UInt32 {
            switch self {
            case .host: 126
            case .prflx: 110
            case .srflx: 100
            case .relay: 0
            }
        }
    }

    public var foundation: String
    public var component: Int
    public var transport: String
    public var priority: UInt32
    public var address: String
    public var port: UInt16
    public var kind: Kind
    public var relatedAddress: String?
    public var relatedPort: UInt16?
    /// Extension attributes in order (`generation 0`, `ufrag x`, `network-id 1`…), kept so a
    /// parsed line re-encodes the same.
    public var extensions: [(name: String, value: String)]

    public init(foundation: String, component: Int = 1, transport: String = "udp", priority: UInt32,
                address: String, port: UInt16, kind: Kind, relatedAddress: String? = nil,
                relatedPort: UInt16? = nil, extensions: [(name: String, value: String)] = []) {
        self.foundation = foundation
        self.component = component
        self.transport = transport
        self.priority = priority
        self.address = address
        self.port = port
        self.kind = kind
        self.relatedAddress = relatedAddress
        self.relatedPort = relatedPort
        self.extensions = extensions
    }

    /// A host candidate for a local address (RFC 8445 §5.1.1.1), priority per §5.1.2.1.
    init(host address: TransportAddress, localPreference: UInt16, component: Int = 1) {
        // §5.1.1.3: same type and base → same foundation; a stable FNV-1a of the base address.
        let foundation = String(address.ip.bytes.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 })
        self.init(foundation: foundation, component: component,
                  priority: ICECandidate.priority(kind: .host, localPreference: localPreference, component: component),
                  address: address.ip.description, port: address.port, kind: .host)
    }

    public var transportAddress: TransportAddress? { TransportAddress(host: address, port: port) }

    /// RFC 8445 §5.1.2.1: priority = 2^24·type preference + 2^8·local preference + (256 − component ID).
    static func priority(kind: Kind, localPreference: UInt16, component: Int = 1) -> UInt32 {
        (kind.typePreference << 24) + (UInt32(localPreference) << 8) + UInt32(256 - max(1, min(component, 256)))
    }

    public static func == (lhs: ICECandidate, rhs: ICECandidate) -> Bool {
        lhs.foundation == rhs.foundation && lhs.component == rhs.component && lhs.transport == rhs.transport
            && lhs.priority == rhs.priority && lhs.address == rhs.address && lhs.port == rhs.port
            && lhs.kind == rhs.kind && lhs.relatedAddress == rhs.relatedAddress && lhs.relatedPort == rhs.relatedPort
            && lhs.extensions.map(\.name) == rhs.extensions.map(\.name)
            && lhs.extensions.map(\.value) == rhs.extensions.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(foundation)
        hasher.combine(address)
        hasher.combine(port)
        hasher.combine(priority)
    }

    /// Parses `candidate:…` with or without a leading `a=`. `line` is for error locations.
    public init(parsing text: String, line: Int? = nil) throws(WebRTCDataError) {
        let location = line.map { "line \($0)" } ?? "candidate"
        var body = Substring(text.trimmingTrailingNewlines())
        if body.hasPrefix("a=") { body = body.dropFirst(2) }
        guard body.hasPrefix("candidate:") else {
            throw WebRTCDataError(.ice, .badCandidate, at: location, "does not start with candidate:")
        }
        body = body.dropFirst("candidate:".count)
        let fields = body.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard fields.count >= 8 else {
            throw WebRTCDataError(.ice, .badCandidate, at: location, "needs at least 8 fields, has \(fields.count)")
        }
        guard let component = Int(fields[1]), (1...256).contains(component) else {
            throw WebRTCDataError(.ice, .badCandidate, at: location, "component id \(fields[1]) is not 1…256")
        }
        guard let priority = UInt32(fields[3]) else {
            throw WebRTCDataError(.ice, .badCandidate, at: location, "priority \(fields[3]) is not a u32")
        }
        guard let port = UInt16(fields[5]) else {
            throw WebRTCDataError(.ice, .badCandidate, at: location, "port \(fields[5]) is not 0…65535")
        }
        guard fields[6] == "typ", let kind = Kind(rawValue: fields[7]) else {
            throw WebRTCDataError(.ice, .badCandidate, at: location, "expected `typ host|srflx|prflx|relay`, found `\(fields[6]) \(fields[7])`")
        }
        guard !fields[0].isEmpty, fields[0].count <= 32, !fields[4].isEmpty else {
            throw WebRTCDataError(.ice, .badCandidate, at: location, "empty foundation or address")
        }
        self.init(foundation: fields[0], component: component, transport: fields[2].lowercased(), priority: priority,
                  address: fields[4], port: port, kind: kind)
        var index = 8
        while index < fields.count {
            guard index + 1 < fields.count else {
                throw WebRTCDataError(.ice, .badCandidate, at: location, "extension `\(fields[index])` has no value")
            }
            let name = fields[index], value = fields[index + 1]
            switch name {
            case "raddr": relatedAddress = value
            case "rport":
                guard let related = UInt16(value) else {
                    throw WebRTCDataError(.ice, .badCandidate, at: location, "rport \(value) is not a port")
                }
                relatedPort = related
            default: extensions.append((name, value))
            }
            index += 2
        }
    }

    /// The attribute value, without `a=`: `candidate:…`.
    public var sdpValue: String {
        var text = "candidate:\(foundation) \(component) \(transport) \(priority) \(address) \(port) typ \(kind.rawValue)"
        if let relatedAddress { text += " raddr \(relatedAddress)" }
        if let relatedPort { text += " rport \(relatedPort)" }
        for (name, value) in extensions { text += " \(name) \(value)" }
        return text
    }

    public var description: String { sdpValue }
}

extension WebRTCDataError.Reason {
    static let badCandidate = Self("bad candidate")
}

extension String {
    func trimmingTrailingNewlines() -> Substring {
        var view = Substring(self)
        while let last = view.last, last == "\r" || last == "\n" { view = view.dropLast() }
        return view
    }
}
