// A DTLS 1.2 handshake between two real endpoints, through a channel the input controls.
@testable import WebRTCData

/// The two endpoints' certificates: made once per process (key generation costs milliseconds).
enum HandshakeCertificates {
    static let client = try! DTLSCertificate(commonName: "fuzz-client")
    static let server = try! DTLSCertificate(commonName: "fuzz-server")
}

/// One endpoint under test and what it has done.
final class HandshakeSide {
    let connection: DTLSConnection
    /// Datagrams it sent, waiting in the channel to the other side.
    var outbox: [[UInt8]] = []
    var completed = false
    var written: [[UInt8]] = []

    init(_ connection: DTLSConnection) { self.connection = connection }
}

let handshakeTargets: [FuzzTarget] = [
    FuzzTarget(name: "dtls-handshake",
               summary: "DTLS 1.2 handshake between two endpoints; datagrams dropped, duplicated, reordered, cut or altered") { bytes in
        // Each input byte is one step: deliver the next datagram of one direction as it is, drop
        // it, duplicate it, swap it with the one behind it, cut it short or change one of its
        // bytes (the next input bytes say where and to what), fire a side's retransmission
        // timer, or write application data. Properties, whatever the channel did:
        // - a side delivers only messages the other side wrote, byte for byte (the record MAC
        //   keeps an altered datagram from reaching the application);
        // - a side that completed the handshake saw the other side's certificate (RFC 8122 §5);
        // - nothing crashes, and every datagram sent fits the MTU.
        guard let client = try? DTLSConnection(role: .client, certificate: HandshakeCertificates.client,
                                               remoteFingerprint: HandshakeCertificates.server.fingerprint),
              let server = try? DTLSConnection(role: .server, certificate: HandshakeCertificates.server,
                                               remoteFingerprint: HandshakeCertificates.client.fingerprint) else {
            finding("cannot create the DTLS endpoints")
        }
        let sides = [HandshakeSide(client), HandshakeSide(server)]

        func route(_ actions: [DTLSAction], from index: Int) {
            let side = sides[index], other = sides[1 - index]
            for action in actions {
                switch action {
                case .send(let datagram):
                    if datagram.count > side.connection.mtu { finding("sent \(datagram.count) bytes over an MTU of \(side.connection.mtu)") }
                    side.outbox.append(datagram)
                case .deliver(let message):
                    if !other.written.contains(message) { finding("delivered \(message.count) bytes the other side never wrote") }
                case .handshakeComplete:
                    let expected = index == 0 ? HandshakeCertificates.server.fingerprint : HandshakeCertificates.client.fingerprint
                    if side.connection.peerFingerprint != expected { finding("handshake completed without the expected certificate") }
                    side.completed = true
                case .closed, .failed:
                    break
                }
            }
        }

        route(server.start(), from: 1)
        route(client.start(), from: 0)
        var i = 0
        func next() -> Int? {
            guard i < bytes.count else { return nil }
            defer { i += 1 }
            return Int(bytes[i])
        }
        var steps = 0
        while steps < 200, let op = next() {
            steps += 1
            let from = op & 1, side = sides[from], to = 1 - from
            switch (op >> 1) % 8 {
            case 0, 1:
                guard !side.outbox.isEmpty else { continue }
                route(sides[to].connection.feed(side.outbox.removeFirst()), from: to)
            case 2:
                if !side.outbox.isEmpty { side.outbox.removeFirst() }
            case 3:
                if let first = side.outbox.first { side.outbox.insert(first, at: 0) }
            case 4:
                if side.outbox.count >= 2 { side.outbox.swapAt(0, 1) }
            case 5:
                guard !side.outbox.isEmpty, let at = next() else { continue }
                side.outbox[0] = Array(side.outbox[0].prefix(at * side.outbox[0].count / 256))
            case 6:
                guard !side.outbox.isEmpty, !side.outbox[0].isEmpty, let at = next(), let value = next() else { continue }
                let index = (at * 7) % side.outbox[0].count
                side.outbox[0][index] ^= UInt8(value == 0 ? 1 : value)
            default:
                if op & 0x80 != 0 {
                    route(side.connection.handleTimeout(), from: from)
                } else if side.connection.state == .connected {
                    let message = [UInt8(steps), UInt8(from)] + Array(repeating: UInt8(op), count: op)
                    side.written.append(message)
                    if let actions = try? side.connection.write(message) { route(actions, from: from) }
                }
            }
        }
        // Whatever is left in flight arrives, then both close.
        for (index, side) in sides.enumerated() {
            for datagram in side.outbox { route(sides[1 - index].connection.feed(datagram), from: 1 - index) }
            side.outbox.removeAll()
        }
        route(client.close(), from: 0)
        route(server.close(), from: 1)
    },
]
