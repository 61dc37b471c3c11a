import CUsrsctp
#if canImport(Glibc)
import Glibc
#endif

/// One SCTP association over DTLS (RFC 8261), built on usrsctp in AF_CONN mode: usrsctp does
/// the protocol, we carry its packets. Both ends bind and connect to port 5000 (RFC 8841 §4.1
/// default; both sides connect, a simultaneous open per RFC 8841 §9.3).
///
/// Not thread-safe: one actor owns it and makes every usrsctp call for it, so `usrsctp_sendv` and
/// `usrsctp_conninput` never run concurrently (libdatachannel found them racy). usrsctp's own
/// threads only reach `callbacks`, which queues packets and wake-ups for that actor. After any
/// call the owner takes `outgoingPackets()` and `events()`.
final class SCTPAssociation {
    enum State: Sendable, Equatable { case idle, connecting, connected, closed }

    static let port: UInt16 = 5000
    /// Streams negotiated each way, so stream ids 0…1023. RFC 8831 §6.2 says SHOULD 65535, but
    /// usrsctp allocates the state of every negotiated stream at association setup: with 65535
    /// each connection cost ~7 MiB (measured: a participant's two connections grew the server by
    /// 14 MiB before it sent a byte). libwebrtc negotiates 1024 for the same reason
    /// (`kMaxSctpStreams`), so no WebRTC peer opens a channel above id 1023.
    static let streams: UInt16 = 1024
    /// RFC 8841 §6: what we advertise in `a=max-message-size`.
    static let maxMessageSize = 262_144
    private static let socketBufferSize: Int32 = 4 * 1024 * 1024

    /// Bytes of messages read per `service` call at most: the owner sees a batch, and can pause
    /// reading, before usrsctp's whole receive buffer has been copied out.
    static let readBatchBytes = 256 << 10
    /// Payload bytes that surely fit one DATA chunk at our smallest path MTU (1200 − DTLS,
    /// SCTP common and DATA chunk headers): a bigger message spans several packets.
    static let singlePacketPayload = 1_100
    /// What we let usrsctp hold: bytes, sent or not (its send buffer, SO_SNDBUF), and DATA
    /// chunks in flight (sent, not yet acknowledged; each is at most one datagram). The
    /// peer's SCTP window is no guide: libwebrtc advertises megabytes but reads from a UDP
    /// socket with the kernel's default 208 KiB buffer, which holds ~90 full datagrams
    /// (measured, loopback and veth). A window grown large on a fast link otherwise lets a
    /// burst overrun that socket whenever the peer's reader is descheduled for a few
    /// milliseconds, and on a `maxRetransmits: 0` channel each dropped datagram costs a whole
    /// message. The bound is not scaled by the measured round trip: a slow reader is what
    /// stretches it on a fast link (libwebrtc's SACKs came 7–13 ms late on veth under load),
    /// so the window would open exactly when the socket is at risk. The price is throughput
    /// on long paths: 64 KiB per round trip, 1.3 MB/s at 50 ms. What usrsctp does not hold
    /// waits in `sendQueue`, where the channel's `bufferedAmount` shows it to the sender.
    static let sendWindowBytes = 64 << 10
    static let chunksInFlightLimit = 64

    private(set) var state: State = .idle
    /// Messages dropped on receipt: unknown PPID, or larger than `maxMessageSize`.
    private(set) var rejectedMessages = 0
    /// Most bytes `send` queues here, over all streams, beyond what usrsctp took into its own
    /// send buffer; past it `send` throws `sendBufferFull` (libwebrtc's data channels stop at
    /// 16 MiB too). Control messages (DCEP) are always taken.
    let maxQueuedBytes: Int
    /// While true nothing is read: messages wait in usrsctp, whose advertised receive window
    /// shrinks to zero, so the peer stops sending (RFC 4960 §6.2) instead of our memory growing.
    var receivePaused = false {
        didSet { if !receivePaused, oldValue { mayHaveMoreToRead = true } }
    }
    /// The last read stopped at `readBatchBytes` (or was paused) with messages possibly left:
    /// call `service()` again.
    private(set) var mayHaveMoreToRead = false
    /// Messages usrsctp refused for good (not for lack of buffer space), so they were dropped.
    private(set) var droppedMessages = 0
    /// Packets dropped before usrsctp: bad framing or checksum (`SCTPPacketHeader`).
    private(set) var rejectedPackets = 0
    /// Why the last packet was rejected.
    private(set) var lastRejection: WebRTCDataError?
    let callbacks = SCTPCallbackSink()

    private let id: UInt
    private var socket: OpaquePointer?
    private var sendQueue: [SCTPMessage] = []
    private var sendQueueHead = 0
    private var queuedBytes: [UInt16: Int] = [:]
    private var queuedTotal = 0
    private var pendingResets: Set<UInt16> = []
    /// usrsctp's send buffer as last set (`resizeSendBuffer`).
    private var sendBufferSize = SCTPAssociation.sendWindowBytes
    private var assembler = SCTPMessageAssembler(limit: SCTPAssociation.maxMessageSize)
    private var partialNotification: [UInt8] = []
    private var receiveBuffer = [UInt8](repeating: 0, count: 1 << 16)
    private var pendingEvents: [SCTPEvent] = []

    /// - Parameter mtu: the DTLS datagram budget; SCTP packets are kept below it minus the DTLS
    ///   record overhead (RFC 8261 §5: at most 1200 bytes is safe).
    init(mtu: Int = 1200, maxQueuedBytes: Int = 16 << 20) throws(WebRTCDataError) {
        self.maxQueuedBytes = maxQueuedBytes
        _ = SCTPRuntime.started
        id = SCTPRuntime.register(callbacks)
        let address = UnsafeMutableRawPointer(bitPattern: id)
        usrsctp_register_address(address)
        guard let socket = usrsctp_socket(AF_CONN, Int32(SOCK_STREAM.rawValue), Int32(IPPROTO_SCTP), nil, nil, 0, nil) else {
            // deinit releases the registration: every stored property is set by now.
            throw WebRTCDataError(.sctp, .usrsctp, "usrsctp_socket", expected: "a socket", found: "errno \(errno)")
        }
        self.socket = socket
        do throws(WebRTCDataError) {
            try configure(socket, mtu: mtu)
            var local = sockaddr_conn(sconn_family: UInt16(AF_CONN), sconn_port: Self.port.bigEndian, sconn_addr: address)
            let bound = withUnsafeMutablePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    usrsctp_bind(socket, $0, socklen_t(MemoryLayout<sockaddr_conn>.size))
                }
            }
            guard bound == 0 else {
                throw WebRTCDataError(.sctp, .usrsctp, "usrsctp_bind", expected: "port 5000 bound", found: "errno \(errno)")
            }
        } catch {
            usrsctp_close(socket)
            self.socket = nil
            throw error
        }
    }

    deinit {
        if let socket { usrsctp_close(socket) }
        Self.release(id: id)
    }

    private static func release(id: UInt) {
        usrsctp_deregister_address(UnsafeMutableRawPointer(bitPattern: id))
        SCTPRuntime.unregister(id)
    }

    private func configure(_ socket: OpaquePointer, mtu: Int) throws(WebRTCDataError) {
        guard usrsctp_set_non_blocking(socket, 1) == 0 else {
            throw WebRTCDataError(.sctp, .usrsctp, "non-blocking mode", expected: "set", found: "errno \(errno)")
        }
        guard usrsctp_set_upcall(socket, sctpUpcall, UnsafeMutableRawPointer(bitPattern: id)) == 0 else {
            throw WebRTCDataError(.sctp, .usrsctp, "upcall", expected: "set", found: "errno \(errno)")
        }
        // Closing must not linger: once DTLS is gone nothing can carry a graceful shutdown.
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        try setOption(socket, SOL_SOCKET, SO_LINGER, &linger, "SO_LINGER")
        // RFC 8831 §6.7: closing a channel resets its streams (RFC 6525).
        var reset = sctp_assoc_value(assoc_id: sctp_assoc_t(SCTP_ALL_ASSOC), assoc_value: UInt32(SCTP_ENABLE_RESET_STREAM_REQ))
        try setOption(socket, Int32(IPPROTO_SCTP), SCTP_ENABLE_STREAM_RESET, &reset, "SCTP_ENABLE_STREAM_RESET")
        var on: Int32 = 1
        try setOption(socket, Int32(IPPROTO_SCTP), SCTP_RECVRCVINFO, &on, "SCTP_RECVRCVINFO")
        // RFC 8831 §6.6: the sender should disable Nagle to keep latency low.
        try setOption(socket, Int32(IPPROTO_SCTP), SCTP_NODELAY, &on, "SCTP_NODELAY")
        for type in [SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT, SCTP_SENDER_DRY_EVENT] {
            var event = sctp_event(se_assoc_id: sctp_assoc_t(SCTP_ALL_ASSOC), se_type: UInt16(type), se_on: 1)
            try setOption(socket, Int32(IPPROTO_SCTP), SCTP_EVENT, &event, "SCTP_EVENT \(type)")
        }
        // No PMTU discovery through DTLS (usrsctp has none without ICMP): a fixed safe MTU minus
        // DTLS (≤ 37 bytes with AES-GCM) and SCTP common header (12 bytes) overhead.
        var peer = sctp_paddrparams()
        peer.spp_flags = UInt32(SPP_PMTUD_DISABLE | SPP_HB_ENABLE)
        peer.spp_pathmtu = UInt32(mtu - 37 - 12)
        try setOption(socket, Int32(IPPROTO_SCTP), SCTP_PEER_ADDR_PARAMS, &peer, "SCTP_PEER_ADDR_PARAMS")
        // `streams` each way (see there for why not RFC 8831 §6.2's 65535).
        var initMessage = sctp_initmsg(sinit_num_ostreams: Self.streams, sinit_max_instreams: Self.streams,
                                       sinit_max_attempts: 0, sinit_max_init_timeo: 0)
        try setOption(socket, Int32(IPPROTO_SCTP), SCTP_INITMSG, &initMessage, "SCTP_INITMSG")
        // Whole messages one after another, never interleaved with notifications (RFC 6458 §8.1.20).
        var level: Int32 = 0
        try setOption(socket, Int32(IPPROTO_SCTP), SCTP_FRAGMENT_INTERLEAVE, &level, "SCTP_FRAGMENT_INTERLEAVE")
        var size = Self.socketBufferSize
        try setOption(socket, SOL_SOCKET, SO_RCVBUF, &size, "SO_RCVBUF")
        var sendSize = Int32(Self.sendWindowBytes)
        try setOption(socket, SOL_SOCKET, SO_SNDBUF, &sendSize, "SO_SNDBUF")
    }

    private func setOption<T>(_ socket: OpaquePointer, _ level: Int32, _ name: Int32, _ value: inout T,
                              _ label: String) throws(WebRTCDataError) {
        let result = withUnsafePointer(to: &value) {
            usrsctp_setsockopt(socket, level, name, $0, socklen_t(MemoryLayout<T>.size))
        }
        guard result == 0 else {
            throw WebRTCDataError(.sctp, .usrsctp, "socket option \(label)", expected: "accepted", found: "errno \(errno)")
        }
    }

    /// Starts the association (sends INIT). Call once DTLS is up.
    func connect() throws(WebRTCDataError) {
        guard state == .idle, let socket else { return }
        var remote = sockaddr_conn(sconn_family: UInt16(AF_CONN), sconn_port: Self.port.bigEndian,
                                   sconn_addr: UnsafeMutableRawPointer(bitPattern: id))
        let result = withUnsafeMutablePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                usrsctp_connect(socket, $0, socklen_t(MemoryLayout<sockaddr_conn>.size))
            }
        }
        guard result == 0 || errno == EINPROGRESS else {
            throw WebRTCDataError(.sctp, .usrsctp, "usrsctp_connect", expected: "connection started", found: "errno \(errno)")
        }
        state = .connecting
    }

    /// Hands usrsctp one SCTP packet that arrived inside DTLS, once its framing and CRC32c
    /// check out (RFC 4960 §6.8); usrsctp judges the chunks' contents itself.
    func receive(_ packet: [UInt8]) {
        guard socket != nil, state != .closed else { return }
        do {
            try SCTPPacketHeader.validate(packet)
        } catch {
            rejectedPackets += 1
            lastRejection = error
            return
        }
        packet.withUnsafeBytes {
            usrsctp_conninput(UnsafeMutableRawPointer(bitPattern: id), $0.baseAddress, $0.count, 0)
        }
        readSocket()
        flush()
    }

    /// Queues a message and sends as much of the queue as usrsctp accepts. Throws
    /// `sendBufferFull` when `maxQueuedBytes` are queued already, unless `control` (DCEP).
    func send(_ message: SCTPMessage, control: Bool = false) throws(WebRTCDataError) {
        guard state != .closed else {
            throw WebRTCDataError(.sctp, .usrsctp, "send", expected: "an open association", found: "closed")
        }
        guard control || queuedTotal == 0 || queuedTotal + message.payload.count <= maxQueuedBytes else {
            throw WebRTCDataError(.sctp, .sendBufferFull, "send on stream \(message.stream)",
                                  expected: "at most \(maxQueuedBytes) bytes queued", found: "\(queuedTotal) bytes queued")
        }
        sendQueue.append(message)
        queuedBytes[message.stream, default: 0] += message.payload.count
        queuedTotal += message.payload.count
        flush()
    }

    /// Bytes queued here over all streams (not yet accepted by usrsctp).
    var queuedBytesTotal: Int { queuedTotal }
    /// Messages queued here over all streams (not yet accepted by usrsctp): lost if the
    /// association ends now.
    var queuedMessages: Int { sendQueue.count - sendQueueHead }

    /// Streams negotiated (inbound, outbound), once connected: the smaller of both sides' offers.
    var negotiatedStreams: (inbound: Int, outbound: Int)? {
        guard let socket, state == .connected else { return nil }
        var status = sctp_status()
        var length = socklen_t(MemoryLayout<sctp_status>.size)
        guard usrsctp_getsockopt(socket, Int32(IPPROTO_SCTP), SCTP_STATUS, &status, &length) == 0 else { return nil }
        return (Int(status.sstat_instrms), Int(status.sstat_outstrms))
    }

    /// DATA chunks sent and not yet acknowledged (SCTP_STATUS `sstat_unackdata`).
    var chunksInFlight: Int {
        guard let socket else { return 0 }
        return FlightWindow(socket).chunks
    }

    /// Bytes queued here (not yet accepted by usrsctp) for a stream.
    func bufferedAmount(stream: UInt16) -> Int { queuedBytes[stream] ?? 0 }

    /// Resets our outgoing side of a stream once its queued messages have gone (RFC 8831 §6.7).
    func resetStream(_ stream: UInt16) {
        pendingResets.insert(stream)
        flush()
    }

    /// Called when usrsctp woke us from one of its threads.
    func service() {
        readSocket()
        flush()
    }

    /// SCTP packets to carry over DTLS, in order.
    func outgoingPackets() -> [[UInt8]] { callbacks.takePackets() }

    /// Events since the last call.
    func events() -> [SCTPEvent] {
        defer { pendingEvents = [] }
        return pendingEvents
    }

    /// Aborts the association (SO_LINGER 0) and releases the socket.
    func close() {
        guard let socket else { return }
        usrsctp_shutdown(socket, Int32(SHUT_RDWR))
        usrsctp_close(socket)
        self.socket = nil
        if state != .closed {
            state = .closed
            pendingEvents.append(.disconnected)
        }
        callbacks.finish()
    }

    // MARK: - Sending

    private func flush() {
        guard let socket, state == .connected else { return }
        var changed: [UInt16: Int] = [:]
        // Read only when there is something to send: flush runs after every received packet.
        var flight = sendQueueHead < sendQueue.count ? FlightWindow(socket) : nil
        while sendQueueHead < sendQueue.count {
            let message = sendQueue[sendQueueHead]
            guard flight?.admits(message.payload.count) ?? true else { break }
            // usrsctp refuses for good (EMSGSIZE) a message larger than its whole send buffer,
            // so the buffer is never smaller than the message at the head of the queue.
            resizeSendBuffer(max(Self.sendWindowBytes, message.payload.count), on: socket)
            // RFC 7053 §4.1: the message that empties our queue asks for an immediate SACK when
            // it spans several packets. Otherwise its last packet may be the odd one the
            // receiver holds for its delayed-SACK timer (up to 200 ms in other stacks; ours
            // SACKs every DATA packet at once, `SCTPRuntime`) while our window waits for that
            // SACK: a 40 KB frame then stalls everything queued behind it for the timer's length.
            let drainsQueue = sendQueueHead + 1 == sendQueue.count
            let sackImmediately = drainsQueue && message.payload.count > Self.singlePacketPayload
            guard trySend(message, sackImmediately: sackImmediately, on: socket) else { break }
            sendQueueHead += 1
            queuedTotal -= message.payload.count
            let left = (queuedBytes[message.stream] ?? 0) - message.payload.count
            queuedBytes[message.stream] = left > 0 ? left : nil
            changed[message.stream] = max(left, 0)
        }
        if sendQueueHead == sendQueue.count {
            sendQueue.removeAll(keepingCapacity: true)
            sendQueueHead = 0
        } else if sendQueueHead > 1024 {
            sendQueue.removeFirst(sendQueueHead)
            sendQueueHead = 0
        }
        if !changed.isEmpty { pendingEvents.append(.bufferedAmountChanged(changed)) }
        let ready = pendingResets.filter { queuedBytes[$0] == nil }
        if !ready.isEmpty {
            pendingResets.subtract(ready)
            resetOutgoing(Array(ready).sorted(), on: socket)
        }
    }

    /// What usrsctp has in flight against `chunksInFlightLimit`: read once per flush from
    /// SCTP_STATUS (RFC 6458 §8.2.1: `sstat_unackdata` is the chunks sent and not acknowledged)
    /// and counted up as messages are handed over, since usrsctp sends a handed message at once
    /// when its window allows (what it cannot send yet is bounded by `sendWindowBytes`). The
    /// wake-up to send more comes with the peer's next SACK: `receive` flushes after every packet.
    private struct FlightWindow {
        var chunks: Int

        init(_ socket: OpaquePointer) {
            var status = sctp_status()
            var length = socklen_t(MemoryLayout<sctp_status>.size)
            let read = usrsctp_getsockopt(socket, Int32(IPPROTO_SCTP), SCTP_STATUS, &status, &length) == 0
            chunks = read ? Int(status.sstat_unackdata) : 0
        }

        /// Whether a message of `bytes` may go now; counts its chunks when it may. A message
        /// always goes when nothing is in flight, so one larger than the window still moves.
        mutating func admits(_ bytes: Int) -> Bool {
            let needed = max(1, (bytes + SCTPAssociation.singlePacketPayload - 1) / SCTPAssociation.singlePacketPayload)
            guard chunks == 0 || chunks + needed <= SCTPAssociation.chunksInFlightLimit else { return false }
            chunks += needed
            return true
        }
    }

    /// Sets usrsctp's send buffer (SO_SNDBUF) when `bytes` differs from what it is: bytes
    /// already inside stay, new messages wait until they fit.
    private func resizeSendBuffer(_ bytes: Int, on socket: OpaquePointer) {
        guard bytes != sendBufferSize else { return }
        var size = Int32(clamping: bytes)
        if usrsctp_setsockopt(socket, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size)) == 0 {
            sendBufferSize = bytes
        }
    }

    /// One `usrsctp_sendv`; false when the send buffer is full (EWOULDBLOCK) so the message stays
    /// queued. A message that can never be sent is dropped so the queue cannot wedge.
    private func trySend(_ message: SCTPMessage, sackImmediately: Bool, on socket: OpaquePointer) -> Bool {
        var spa = sctp_sendv_spa()
        spa.sendv_flags = UInt32(SCTP_SEND_SNDINFO_VALID | SCTP_SEND_PRINFO_VALID)
        spa.sendv_sndinfo.snd_sid = message.stream
        spa.sendv_sndinfo.snd_ppid = message.payloadProtocol.rawValue.bigEndian
        spa.sendv_sndinfo.snd_flags = UInt16(SCTP_EOR) | (message.ordered ? 0 : UInt16(SCTP_UNORDERED))
            | (sackImmediately ? UInt16(SCTP_SACK_IMMEDIATELY) : 0)
        switch message.reliability {
        case .reliable:
            spa.sendv_prinfo.pr_policy = UInt16(SCTP_PR_SCTP_NONE)
        case .maxRetransmits(let count):
            spa.sendv_prinfo.pr_policy = UInt16(SCTP_PR_SCTP_RTX)
            spa.sendv_prinfo.pr_value = count
        case .maxPacketLifeTime(let ms):
            spa.sendv_prinfo.pr_policy = UInt16(SCTP_PR_SCTP_TTL)
            spa.sendv_prinfo.pr_value = ms
        }
        // RFC 8831 §6.6: empty messages travel as one zero byte with PPID 56/57.
        let payload = message.payload.isEmpty ? [0] : message.payload
        let sent = payload.withUnsafeBytes { bytes in
            usrsctp_sendv(socket, bytes.baseAddress, bytes.count, nil, 0, &spa,
                          socklen_t(MemoryLayout<sctp_sendv_spa>.size), UInt32(SCTP_SENDV_SPA), 0)
        }
        if sent >= 0 { return true }
        if errno == EWOULDBLOCK || errno == EAGAIN { return false }
        droppedMessages += 1
        return true
    }

    private func resetOutgoing(_ streams: [UInt16], on socket: OpaquePointer) {
        let headerSize = MemoryLayout<sctp_reset_streams>.size
        var buffer = [UInt8](repeating: 0, count: headerSize + 2 * streams.count)
        buffer.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt16(SCTP_STREAM_RESET_OUTGOING), toByteOffset: MemoryLayout<sctp_reset_streams>.offset(of: \.srs_flags)!, as: UInt16.self)
            raw.storeBytes(of: UInt16(streams.count), toByteOffset: MemoryLayout<sctp_reset_streams>.offset(of: \.srs_number_streams)!, as: UInt16.self)
            for (index, stream) in streams.enumerated() {
                raw.storeBytes(of: stream, toByteOffset: headerSize + 2 * index, as: UInt16.self)
            }
        }
        _ = buffer.withUnsafeBytes {
            usrsctp_setsockopt(socket, Int32(IPPROTO_SCTP), SCTP_RESET_STREAMS, $0.baseAddress, socklen_t($0.count))
        }
    }

    // MARK: - Receiving

    private func readSocket() {
        mayHaveMoreToRead = false
        guard let socket, !receivePaused else {
            if receivePaused { mayHaveMoreToRead = true }
            return
        }
        var batchBytes = 0
        while true {
            if batchBytes >= Self.readBatchBytes {
                mayHaveMoreToRead = true
                return
            }
            var info = sctp_rcvinfo()
            var infoLength = socklen_t(MemoryLayout<sctp_rcvinfo>.size)
            var infoType: UInt32 = 0
            var flags: Int32 = 0
            var fromLength: socklen_t = 0
            let count = receiveBuffer.withUnsafeMutableBytes { buffer in
                usrsctp_recvv(socket, buffer.baseAddress, buffer.count, nil, &fromLength,
                              &info, &infoLength, &infoType, &flags)
            }
            guard count > 0 else {
                // EWOULDBLOCK: drained. 0 or ECONNRESET: the association is gone.
                if count == 0 || errno == ECONNRESET || errno == ENOTCONN, state == .connected {
                    if count == 0 || errno == ECONNRESET { markDisconnected() }
                }
                return
            }
            let chunk = receiveBuffer[0 ..< count]
            let complete = flags & Int32(MSG_EOR) != 0
            if flags & Int32(MSG_NOTIFICATION) != 0 {
                partialNotification += chunk
                if complete {
                    handleNotification(partialNotification)
                    partialNotification = []
                }
                continue
            }
            batchBytes += count + 64  // tiny messages count too
            // Too large for what we advertised (RFC 8841 §6): the assembler drops all of it.
            let rejectedBefore = assembler.rejected
            guard let payload = assembler.push(chunk, endOfRecord: complete) else {
                rejectedMessages += assembler.rejected - rejectedBefore
                continue
            }
            guard infoType == UInt32(SCTP_RECVV_RCVINFO) else {
                rejectedMessages += 1
                continue
            }
            let ppid = UInt32(bigEndian: info.rcv_ppid)
            guard let payloadProtocol = SCTPPayloadProtocol(rawValue: ppid) else {
                rejectedMessages += 1
                continue
            }
            let unordered = info.rcv_flags & UInt16(SCTP_UNORDERED) != 0
            pendingEvents.append(.message(SCTPMessage(stream: info.rcv_sid, payloadProtocol: payloadProtocol,
                                                      payload: payload, ordered: !unordered)))
        }
    }

    private func markDisconnected() {
        guard state != .closed else { return }
        state = .closed
        pendingEvents.append(.disconnected)
    }

    /// Notifications are C structs (RFC 6458 §6.1); their fields are read at the offsets the
    /// imported declarations give, after checking the declared length.
    func handleNotification(_ bytes: [UInt8]) {
        guard bytes.count >= 8 else { return }
        bytes.withUnsafeBytes { raw in
            let type = raw.loadUnaligned(fromByteOffset: 0, as: UInt16.self)
            let length = Int(raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            guard length <= raw.count else { return }
            switch Int32(type) {
            case SCTP_ASSOC_CHANGE:
                guard let offset = MemoryLayout<sctp_assoc_change>.offset(of: \.sac_state),
                      length >= offset + 2 else { return }
                let change = raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
                if change == UInt16(SCTP_COMM_UP) {
                    if state == .connecting || state == .idle {
                        state = .connected
                        pendingEvents.append(.connected)
                    }
                } else if change == UInt16(SCTP_COMM_LOST) || change == UInt16(SCTP_SHUTDOWN_COMP)
                            || change == UInt16(SCTP_CANT_STR_ASSOC) {
                    markDisconnected()
                }
            case SCTP_STREAM_RESET_EVENT:
                let listOffset = MemoryLayout<sctp_stream_reset_event>.size
                guard let flagsOffset = MemoryLayout<sctp_stream_reset_event>.offset(of: \.strreset_flags),
                      length >= listOffset else { return }
                let flags = raw.loadUnaligned(fromByteOffset: flagsOffset, as: UInt16.self)
                if flags & UInt16(SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED) != 0 { return }
                let streams = stride(from: listOffset, to: length - 1, by: 2).map {
                    raw.loadUnaligned(fromByteOffset: $0, as: UInt16.self)
                }
                if flags & UInt16(SCTP_STREAM_RESET_INCOMING_SSN) != 0 {
                    pendingEvents.append(.incomingStreamsReset(streams))
                }
                if flags & UInt16(SCTP_STREAM_RESET_OUTGOING_SSN) != 0 {
                    pendingEvents.append(.outgoingStreamsReset(streams))
                }
            default:
                break // SCTP_SENDER_DRY_EVENT: the flush that follows every read covers it
            }
        }
    }
}

