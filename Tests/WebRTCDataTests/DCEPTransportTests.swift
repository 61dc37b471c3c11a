import XCTest
import TestSupport
@testable import WebRTCData

/// A hand-driven peer (our own DTLSConnection and SCTPAssociation, no DCEP logic) against a
/// DataChannelTransport, so malformed DCEP can be sent on purpose.
private actor RawPeer {
    let dtls: DTLSConnection
    let sctp: SCTPAssociation
    let transport: DataChannelTransport
    private(set) var events: [SCTPEvent] = []

    init(dtls: DTLSConnection, sctp: SCTPAssociation, transport: DataChannelTransport) {
        self.dtls = dtls
        self.sctp = sctp
        self.transport = transport
    }

    func start() async { for action in dtls.start() { await handle(action) } }

    func incoming(_ datagram: [UInt8]) async {
        for action in dtls.feed(datagram) { await handle(action) }
    }

    private func handle(_ action: DTLSAction) async {
        switch action {
        case .send(let datagram): await transport.receive(datagram)
        case .deliver(let packet):
            sctp.receive(packet)
            await flush()
        case .handshakeComplete:
            try? sctp.connect()
            await flush()
        case .closed, .failed: break
        }
    }

    /// Carries usrsctp's output through DTLS to the transport and collects events.
    func flush() async {
        sctp.service()
        for packet in sctp.outgoingPackets() where dtls.state == .connected {
            for case .send(let datagram) in (try? dtls.write(packet)) ?? [] { await transport.receive(datagram) }
        }
        events += sctp.events()
    }

    func send(stream: UInt16, _ payloadProtocol: SCTPPayloadProtocol, _ payload: [UInt8]) async {
        try? sctp.send(SCTPMessage(stream: stream, payloadProtocol: payloadProtocol, payload: payload))
        await flush()
    }

    func messages(on stream: UInt16) -> [SCTPMessage] {
        events.compactMap { if case .message(let m) = $0, m.stream == stream { m } else { nil } }
    }
}

final class DCEPTransportTests: XCTestCase {
    func testMalformedDCEPIsCountedAndTheTransportKeepsWorking() async throws {
        let peerCert = try DTLSCertificate()
        let ourCert = try DTLSCertificate()
        let (toPeer, toPeerSink) = AsyncStream.makeStream(of: [UInt8].self)
        let transport = try DataChannelTransport(role: .server, certificate: ourCert,
                                                 remoteFingerprint: peerCert.fingerprint) { toPeerSink.yield($0) }
        let peer = RawPeer(dtls: try DTLSConnection(role: .client, certificate: peerCert, remoteFingerprint: ourCert.fingerprint),
                           sctp: try SCTPAssociation(), transport: transport)
        let pump = Task { for await datagram in toPeer { await peer.incoming(datagram) } }
        // usrsctp's timers (retransmissions, delayed SACKs) produce packets outside any call.
        let ticker = Task {
            while !Task.isCancelled {
                await peer.flush()
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        defer { pump.cancel(); ticker.cancel() }
        await transport.start()
        await peer.start()
        try await waitUntil { await transport.state == .connected }

        // RFC 8832 malformed or out-of-place control messages, on the client's even streams.
        await peer.send(stream: 0, .dcep, [0x03, 0x00])                    // truncated OPEN
        await peer.send(stream: 0, .dcep, [0x07])                          // unknown message type
        await peer.send(stream: 4, .dcep, [0x02])                          // ACK for nothing
        var badLabel = try DCEPOpen(channelType: .reliable, label: "ab").encoded()
        badLabel[12] = 0xFF                                                // label not UTF-8
        await peer.send(stream: 6, .dcep, badLabel)
        try await waitUntil { await transport.rejectedControlMessages == 4 }

        // A valid OPEN still opens a channel, acknowledged with DATA_CHANNEL_ACK on its stream.
        await peer.send(stream: 2, .dcep, try DCEPOpen(channelType: .partialReliableRexmitUnordered, label: "ok").encoded())
        var incoming = transport.incomingChannels.makeAsyncIterator()
        let opened = await incoming.next()
        let channel = try XCTUnwrap(opened)
        XCTAssertEqual(channel.label, "ok")
        XCTAssertEqual(channel.id, 2)
        XCTAssertEqual(channel.maxRetransmits, 0)
        try await waitUntil { await peer.messages(on: 2).contains { $0.payloadProtocol == .dcep && $0.payload == [0x02] } }

        // A second OPEN on a stream in use is refused, counted, and the channel carries on.
        await peer.send(stream: 2, .dcep, try DCEPOpen(channelType: .reliable, label: "dup").encoded())
        try await waitUntil { await transport.rejectedControlMessages == 5 }
        await peer.send(stream: 2, .binary, [1, 2, 3])
        var messages = channel.messages.makeAsyncIterator()
        let first = await messages.next()
        XCTAssertEqual(first, .binary([1, 2, 3]))
        try await channel.send("back")
        try await waitUntil { await peer.messages(on: 2).contains { $0.payloadProtocol == .string && $0.payload == Array("back".utf8) } }
        await transport.close()
    }
}
