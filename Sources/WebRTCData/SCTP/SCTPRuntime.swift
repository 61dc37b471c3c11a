import CUsrsctp
import Synchronization

/// usrsctp's process-wide state: `usrsctp_init` runs once, with one output callback for every
/// association, so each association is registered under a small integer that doubles as its
/// AF_CONN address and upcall argument. A callback that fires after an association closed finds
/// nothing in the registry and does nothing (usrsctp may call back from its timer thread after
/// `usrsctp_close`, sctplab/usrsctp#405).
enum SCTPRuntime {
    /// Runs `usrsctp_init` and the stack-wide tuning once (lazy global initialisation is atomic).
    static let started: Void = {
        usrsctp_init(0, sctpConnOutput, nil)
        // RFC 3758 partial reliability, needed for maxRetransmits/maxPacketLifeTime channels.
        usrsctp_sysctl_set_sctp_pr_enable(1)
        // ECN means nothing inside DTLS; stream reconfiguration (RFC 6525) closes channels.
        usrsctp_sysctl_set_sctp_ecn_enable(0)
        usrsctp_sysctl_set_sctp_reconfig_enable(1)
        // Over one DTLS path a dead peer should be noticed in seconds, not minutes.
        usrsctp_sysctl_set_sctp_init_rtx_max_default(5)
        usrsctp_sysctl_set_sctp_path_rtx_max_default(5)
        usrsctp_sysctl_set_sctp_assoc_rtx_max_default(5)
        usrsctp_sysctl_set_sctp_rto_min_default(200)
        usrsctp_sysctl_set_sctp_rto_max_default(10_000)
        usrsctp_sysctl_set_sctp_rto_initial_default(1000)
        // INIT and COOKIE-ECHO back off to at most 3 s (RFC 6458 §8.1.3 `sinit_max_init_timeo`,
        // the largest RTO of the INIT exchange): on a lossy link two unlucky exchanges waiting
        // 4 and 8 s would spend most of a join's deadline; libwebrtc caps its SCTP timers'
        // backoff at 3 s for the same reason.
        usrsctp_sysctl_set_sctp_init_rto_max_default(3_000)
        usrsctp_sysctl_set_sctp_heartbeat_interval_default(10_000)
        usrsctp_sysctl_set_sctp_max_chunks_on_queue(64 * 1024)
        // RFC 6928 initial window of 10 MTUs.
        usrsctp_sysctl_set_sctp_initial_cwnd(10)
        // usrsctp's burst limit (4 packets by default) is also a cap on the congestion window:
        // it clamps the initial window to 4 MTUs, and whenever it sends with room to spare it
        // cuts cwnd back to flight + 4 MTUs (sctp_output.c, `sctp_cwnd_update_after_output`).
        // Between large frames the small ones keep the flight near zero, so every 40 KB frame
        // (36 packets) began from a 4-packet window and took several round trips, each waiting
        // on the receiver's SACK (20–30 ms when that was a delayed one); small frames queued
        // behind it waited as long. Our own bound on DATA chunks in flight
        // (`SCTPAssociation.chunksInFlightLimit`) is the burst limit instead: a window that
        // slow start opened stays open across idle periods (usrsctp does not decay it; RFC 4960
        // §7.2.1's reduction after an idle RTO is a SHOULD), so a frame goes in one flight.
        usrsctp_sysctl_set_sctp_max_burst_default(UInt32(SCTPAssociation.chunksInFlightLimit))
        // SACK every packet that carries DATA at once (RFC 4960 §6.2 lets a receiver send
        // more than one per two packets), not after usrsctp's delayed-SACK timer: that timer
        // runs on a 10 ms tick, so a 20 ms delay meant 20–30 ms, and a sender whose window waits
        // on that SACK (a peer's stack after an idle period, or a frame's odd last packet) stalls
        // everything behind it for that long. The cost, one SACK per packet, is paid once per
        // batch instead: the owner sends only the newest SACK of the packets it received
        // together (`SCTPSackCoalescing`). With a frequency of 1 the delay below is not used.
        usrsctp_sysctl_set_sctp_sack_freq_default(1)
        usrsctp_sysctl_set_sctp_delayed_sack_time_default(20)
        // We check CRC32c ourselves before usrsctp sees a packet (SCTPPacketHeader, so bad
        // packets are counted) and fill it into outgoing ones: usrsctp then does neither twice.
        usrsctp_enable_crc32c_offload()
    }()

    private static let sinks = Mutex<[UInt: SCTPCallbackSink]>([:])
    private static let nextID = Atomic<UInt>(1)

    static func register(_ sink: SCTPCallbackSink) -> UInt {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        sinks.withLock { $0[id] = sink }
        return id
    }

    static func unregister(_ id: UInt) {
        _ = sinks.withLock { $0.removeValue(forKey: id) }
    }

    static func sink(for id: UInt) -> SCTPCallbackSink? {
        sinks.withLock { $0[id] }
    }
}

/// Where usrsctp's callbacks (its threads or ours) leave work for the association's owner:
/// outgoing packets in arrival order, and a coalesced wake-up telling the owner to look.
final class SCTPCallbackSink: Sendable {
    private struct Outbox {
        var packets: [[UInt8]] = []
        var wakeupPending = false
    }

    private let outbox = Mutex(Outbox())
    let wakeups: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (wakeups, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func enqueue(_ packet: [UInt8]) {
        let wake = outbox.withLock { state in
            state.packets.append(packet)
            defer { state.wakeupPending = true }
            return !state.wakeupPending
        }
        if wake { continuation.yield() }
    }

    func poke() {
        let wake = outbox.withLock { state in
            defer { state.wakeupPending = true }
            return !state.wakeupPending
        }
        if wake { continuation.yield() }
    }

    /// Takes every queued packet and re-arms the wake-up.
    func takePackets() -> [[UInt8]] {
        outbox.withLock { state in
            state.wakeupPending = false
            defer { state.packets = [] }
            return state.packets
        }
    }

    func finish() { continuation.finish() }
}

/// usrsctp → us: one SCTP packet for the association registered under `address`.
private let sctpConnOutput: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int, UInt8, UInt8) -> Int32 = {
    address, buffer, length, _, _ in
    guard let buffer, length > 0, let sink = SCTPRuntime.sink(for: UInt(bitPattern: address)) else { return -1 }
    var packet = Array(UnsafeRawBufferPointer(start: buffer, count: length))
    SCTPPacketHeader.fillChecksum(&packet)
    sink.enqueue(packet)
    return 0
}

/// usrsctp → us: the socket became readable or writable (called with usrsctp's locks held, so
/// it only wakes the owner).
let sctpUpcall: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int32) -> Void = { _, argument, _ in
    SCTPRuntime.sink(for: UInt(bitPattern: argument))?.poke()
}
