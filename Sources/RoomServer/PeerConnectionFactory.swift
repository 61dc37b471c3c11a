import Synchronization
import WebRTCData

/// Makes the server's peer connections: UDP sockets on every advertised address (issue 4: all
/// up non-loopback interface addresses plus 127.0.0.1, or the `--node-ip` list), ports taken in
/// turn from `firstPort` upward (`--rtc-port`; 0 = any free port). There is no UDP mux: each
/// peer connection owns its ports, so a port still bound by someone else is skipped.
final class PeerConnectionFactory: Sendable {
    let addresses: [IPAddress]
    let firstPort: UInt16
    /// How many ports above `firstPort` are cycled through.
    let portSpan: UInt16
    private let nextOffset = Mutex<UInt16>(0)

    init(addresses: [IPAddress], firstPort: UInt16, portSpan: UInt16 = 2000) {
        self.addresses = addresses
        self.firstPort = firstPort
        self.portSpan = max(1, min(portSpan, UInt16.max - firstPort))
    }

    /// Every up IPv4 interface address that is not loopback, then 127.0.0.1.
    static func defaultAddresses() -> [IPAddress] {
        var addresses = NetworkInterfaces.addresses(includeLoopback: false, includeIPv6: false).map(\.ip)
        if let loopback = IPAddress("127.0.0.1"), !addresses.contains(loopback) { addresses.append(loopback) }
        return addresses
    }

    private func configuration(iceLite: Bool) -> PeerConnection.Configuration {
        let port: UInt16
        if firstPort == 0 {
            port = 0
        } else {
            port = nextOffset.withLock { offset in
                defer { offset = (offset + 1) % portSpan }
                return firstPort + offset
            }
        }
        return PeerConnection.Configuration(addresses: addresses.map { TransportAddress(ip: $0, port: port) },
                                            iceLite: iceLite, preferredSetup: .active)
    }

    private var attempts: Int { firstPort == 0 ? 1 : 32 }

    /// An ICE-lite answerer for the client's offer (the server never gathers or checks: RFC 8445
    /// §2.5). Media sections are rejected by `PeerConnection` (data only).
    func answer(_ offer: String) async throws(WebRTCDataError) -> (PeerConnection, String) {
        var lastError = WebRTCDataError(.transport, .init("no port"), at: "answer")
        for _ in 0..<attempts {
            let connection = try PeerConnection(configuration(iceLite: true))
            do {
                try await connection.setRemoteDescription(offer)
            } catch {
                await connection.close()
                throw error   // the offer itself is bad: another port will not help
            }
            do {
                let answer = try await connection.createAnswer()
                return (connection, answer)
            } catch {
                lastError = error
                await connection.close()
                guard error.layer == .transport else { throw error }
            }
        }
        throw lastError
    }

    /// An offering peer connection (the subscriber side of the `/rtc` path) with the server's own
    /// `_reliable`, `_lossy` and `_data_track` channels (DESIGN.md §3 transport). A full ICE
    /// agent: the offerer controls (RFC 8445 §6.1.1).
    func offer() async throws(WebRTCDataError) -> (PeerConnection, String, [String: DataChannel]) {
        var lastError = WebRTCDataError(.transport, .init("no port"), at: "offer")
        for _ in 0..<attempts {
            let connection = try PeerConnection(configuration(iceLite: false))
            var channels: [String: DataChannel] = [:]
            do {
                channels[DataLane.reliable.label] = try await connection.createDataChannel(DataLane.reliable.label, ordered: true)
                channels[DataLane.lossy.label] = try await connection.createDataChannel(DataLane.lossy.label, ordered: false, maxRetransmits: 0)
                channels[DataLane.dataTrackLabel] = try await connection.createDataChannel(DataLane.dataTrackLabel, ordered: false, maxRetransmits: 0)
                let offer = try await connection.createOffer()
                return (connection, offer, channels)
            } catch {
                lastError = error
                await connection.close()
                guard error.layer == .transport else { throw error }
            }
        }
        throw lastError
    }
}

/// The data channels LiveKit clients and servers open beside each other (DESIGN.md §3):
/// `_reliable` (ordered, reliable) and `_lossy` (unordered, no retransmits) carry `DataPacket`
/// protobufs; `_data_track` carries raw data-track packets.
enum DataLane: String, Sendable, CaseIterable {
    case reliable
    case lossy

    var label: String { "_" + rawValue }
    static let dataTrackLabel = "_data_track"

    init?(label: String) {
        switch label {
        case "_reliable": self = .reliable
        case "_lossy": self = .lossy
        default: return nil
        }
    }
}
