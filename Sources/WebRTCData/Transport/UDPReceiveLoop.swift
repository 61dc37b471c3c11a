import Foundation
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
final class UDPReceiveLoop: @unchecked Sendable {
    // @unchecked: `sockets` and the pipe are immutable after init; `thread` is only touched in
    // start/stop by the owning actor.
    typealias Handler = @Sendable (_ batch: [ReceivedDatagram]) -> Void
    /// Most datagrams handed over in one batch (bounds latency of the first one).
    static let maxBatch = 64

    private let sockets: [UDPSocket]
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let onDatagrams: Handler
    private var thread: Thread?

    init(sockets: [UDPSocket], onDatagrams: @escaping Handler) throws(WebRTCDataError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw WebRTCDataError(.transport, .socket, at: "pipe", String(cString: strerror(errno)))
        }
        self.sockets = sockets
        self.wakeRead = fds[0]
        self.wakeWrite = fds[1]
        self.onDatagrams = onDatagrams
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
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let ready = poll(&pollSet, nfds_t(pollSet.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if pollSet[pollSet.count - 1].revents != 0 { return }
            var batch: [ReceivedDatagram] = []
            for (index, socket) in sockets.enumerated() where pollSet[index].revents != 0 {
                // Drain what is queued before polling again.
                while let (count, from) = socket.receive(into: &buffer) {
                    batch.append(ReceivedDatagram(bytes: Array(buffer[0..<count]), from: from, to: socket.localAddress))
                    if batch.count == UDPReceiveLoop.maxBatch {
                        onDatagrams(batch)
                        batch.removeAll(keepingCapacity: true)
                    }
                }
            }
            if !batch.isEmpty { onDatagrams(batch) }
        }
    }
}
