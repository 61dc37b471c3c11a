import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One datagram as received: bytes, the sender, and the local address it arrived at.
struct ReceivedDatagram: Sendable {
    var bytes: [UInt8]
    var from: TransportAddress
    var to: TransportAddress
}

/// A thread that polls a set of UDP sockets and hands what arrived to `onDatagrams`, in
/// arrival order per socket, in batches: everything queued at one wake-up goes in one call, so
/// under load the owner pays one hop per batch instead of one per datagram. One per ICE
/// transport; stopped by `stop()` through a pipe, so it never blocks shutdown. Callbacks run on
/// this thread: keep them short (yield to a stream).
///
/// On Linux a socket is read with `recvmmsg(2)`, up to `maxBatch` datagrams per system call,
/// into a `UDPReceiveSlab` allocated once; elsewhere with one `recvfrom` per datagram. A
/// datagram longer than `slotSize` is dropped and counted (`truncatedDatagrams`), never
/// handed on cut.
final class UDPReceiveLoop: @unchecked Sendable {
    // @unchecked: `sockets` and the pipe are immutable after init; `thread` is only touched in
    // start/stop by the owning actor; the counter is atomic.
    typealias Handler = @Sendable (_ batch: [ReceivedDatagram]) -> Void
    /// Most datagrams handed over in one batch (bounds latency of the first one), and read by
    /// one `recvmmsg`.
    static let maxBatch = 64

    private let sockets: [UDPSocket]
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let onDatagrams: Handler
    private var thread: Thread?
    /// Largest datagram delivered whole; longer ones are dropped and counted.
    let slotSize: Int
    private let truncated = Atomic<Int>(0)

    /// Datagrams dropped because they were longer than `slotSize`.
    var truncatedDatagrams: Int { truncated.load(ordering: .relaxed) }

    init(sockets: [UDPSocket], slotSize: Int = UDPReceiveSlab.defaultSlotSize,
         onDatagrams: @escaping Handler) throws(WebRTCDataError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw WebRTCDataError(.transport, .socket, at: "pipe", String(cString: strerror(errno)))
        }
        self.sockets = sockets
        self.wakeRead = fds[0]
        self.wakeWrite = fds[1]
        self.onDatagrams = onDatagrams
        self.slotSize = slotSize
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "trackbag.udp"
        thread.qualityOfService = .userInteractive
        self.thread = thread
        thread.start()
    }

    func stop() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private func run() {
        var pollSet = sockets.map { pollfd(fd: $0.fileDescriptor, events: Int16(POLLIN), revents: 0) }
        pollSet.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
        #if os(Linux)
        let slab = UDPReceiveSlab(slots: UDPReceiveLoop.maxBatch, slotSize: slotSize)
        #else
        var buffer = [UInt8](repeating: 0, count: slotSize + 1)
        #endif
        var batch: [ReceivedDatagram] = []
        batch.reserveCapacity(UDPReceiveLoop.maxBatch)
        while true {
            let ready = poll(&pollSet, nfds_t(pollSet.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if pollSet[pollSet.count - 1].revents != 0 { return }
            for (index, socket) in sockets.enumerated() where pollSet[index].revents != 0 {
                // Drain what is queued before polling again.
                #if os(Linux)
                while true {
                    let count = slab.receive(from: socket.fileDescriptor)
                    for slot in 0..<count {
                        if slab.isTruncated(slot) {
                            truncated.add(1, ordering: .relaxed)
                            continue
                        }
                        guard let from = slab.source(slot) else { continue }
                        batch.append(ReceivedDatagram(bytes: Array(slab.bytes(slot)), from: from, to: socket.localAddress))
                        if batch.count == UDPReceiveLoop.maxBatch { handOver(&batch) }
                    }
                    // A short read emptied the queue: what comes next wakes poll.
                    if count < slab.slots { break }
                }
                #else
                while let (count, from) = socket.receive(into: &buffer) {
                    if count > slotSize {
                        truncated.add(1, ordering: .relaxed)
                        continue
                    }
                    batch.append(ReceivedDatagram(bytes: Array(buffer[0..<count]), from: from, to: socket.localAddress))
                    if batch.count == UDPReceiveLoop.maxBatch { handOver(&batch) }
                }
                #endif
            }
            if !batch.isEmpty { handOver(&batch) }
        }
    }

    private func handOver(_ batch: inout [ReceivedDatagram]) {
        onDatagrams(batch)
        // Reuses the storage when the handler kept no reference to it (it copied the elements
        // into its queue); otherwise allocates a fresh one of the same capacity.
        batch.removeAll(keepingCapacity: true)
    }
}
