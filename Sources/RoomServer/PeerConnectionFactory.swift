import LiveKitProtocol
import Synchronization
import WebRTCData

/// Makes the server's peer connections on one UDP port per advertised address, shared by all
/// of them (all up non-loopback interface addresses plus 127.0.0.1, or the `--node-ip`
/// list; `--rtc-port`, 0 = one free port chosen at start), as livekit-server's UDP mux does:
/// one port to open in a firewall, whatever the number of participants. `ICEUDPMux` routes each
/// datagram to its peer connection by ICE ufrag, then by the remote address it bound.
final class PeerConnectionFactory: Sendable {
    let addresses: [IPAddress]
    let mux: ICEUDPMux
    /// Bound address → what candidates name instead (`--advertise-address`); empty = the bound ones.
    let advertised: [TransportAddress: TransportAddress]

    /// `advertise`: none, or one per address in order, each an IP and maybe a port (nil = the
    /// bound port).
    init(addresses: [IPAddress], port: UInt16, advertise: [(ip: IPAddress, port: UInt16?)] = []) throws(WebRTCDataError) {
        self.addresses = addresses
        mux = try ICEUDPMux(addresses: addresses.map { TransportAddress(ip: $0, port: port) })
        var advertised: [TransportAddress: TransportAddress] = [:]
        for (bound, shown) in zip(mux.boundAddresses, advertise) {
            advertised[bound] = TransportAddress(ip: shown.ip, port: shown.port ?? bound.port)
        }
        self.advertised = advertised
    }

    /// The UDP addresses and ports in use.
    var boundAddresses: [TransportAddress] { mux.boundAddresses }

    /// What the candidates name, in the order of `boundAddresses`.
    var advertisedAddresses: [TransportAddress] { mux.boundAddresses.map { advertised[$0] ?? $0 } }

    /// Every up IPv4 interface address that is not loopback, then 127.0.0.1.
    static func defaultAddresses() -> [IPAddress] {
        var addresses = NetworkInterfaces.addresses(includeLoopback: false, includeIPv6: false).map(\.ip)
        if let loopback = IPAddress("127.0.0.1"), !addresses.contains(loopback) { addresses.append(loopback) }
        return addresses
    }

    /// Remote candidates: loopback ones only if the server runs on loopback alone, never
    /// unspecified, multicast or broadcast, at most 64 per connection (`RemoteCandidatePolicy`):
    /// a participant must not aim the server's checks at services of the server host. Channel
    /// and buffer limits: `DataChannelLimits`' defaults, per peer connection.
    private func configuration(iceLite: Bool) -> PeerConnection.Configuration {
        PeerConnection.Configuration(addresses: mux.boundAddresses, iceLite: iceLite, preferredSetup: .active, mux: mux,
                                     remoteCandidates: .server(boundTo: mux.boundAddresses), advertisedAddresses: advertised)
    }

    /// Stops the shared sockets (server shutdown).
    func close() { mux.close() }

    /// An ICE-lite answerer for the client's offer (the server never gathers or checks: RFC 8445
    /// §2.5). Media sections are rejected by `PeerConnection` (data only).
    func answer(_ offer: String) async throws(WebRTCDataError) -> (PeerConnection, String) {
        let connection = try PeerConnection(configuration(iceLite: true))
        do {
            try await connection.setRemoteDescription(offer)
            let answer = try await connection.createAnswer()
            return (connection, answer)
        } catch {
            await connection.close()
            throw error
        }
    }

    /// An offering peer connection (the subscriber side of the `/rtc` path) with the server's own
    /// `_reliable`, `_lossy` and `_data_track` channels (docs/WIRE.md, "Transport"). A full ICE
    /// agent: the offerer controls (RFC 8445 §6.1.1). The server only sends on them (LiveKit
    /// clients only receive on their subscriber connection), so what a client sends into them
    /// is discarded as it arrives.
    func offer() async throws(WebRTCDataError) -> (PeerConnection, String, [String: DataChannel]) {
        let connection = try PeerConnection(configuration(iceLite: false))
        var channels: [String: DataChannel] = [:]
        do {
            channels[DataLane.reliable.label] = try await connection.createDataChannel(DataLane.reliable.label, ordered: true)
            channels[DataLane.lossy.label] = try await connection.createDataChannel(DataLane.lossy.label, ordered: false, maxRetransmits: 0)
            channels[DataLane.dataTrackLabel] = try await connection.createDataChannel(DataLane.dataTrackLabel, ordered: false, maxRetransmits: 0)
            for channel in channels.values { channel.discardIncomingMessages() }
            let offer = try await connection.createOffer()
            return (connection, offer, channels)
        } catch {
            await connection.close()
            throw error
        }
    }
}

/// The data channels LiveKit clients and servers open beside each other (docs/WIRE.md):
/// `_reliable` (ordered, reliable) and `_lossy` (unordered, no retransmits) carry `DataPacket`
/// protobufs; `_data_track` carries raw data-track packets.
enum DataLane: String, Sendable, CaseIterable {
    case reliable
    case lossy

    var label: String { "_" + rawValue }
    static let dataTrackLabel = "_data_track"

    /// The `DataPacket.kind` a packet on this lane gets (livekit-server trusts the channel).
    var kind: Livekit_DataPacket.Kind {
        switch self {
        case .reliable: .reliable
        case .lossy: .lossy
        }
    }

    init?(label: String) {
        switch label {
        case "_reliable": self = .reliable
        case "_lossy": self = .lossy
        default: return nil
        }
    }
}
