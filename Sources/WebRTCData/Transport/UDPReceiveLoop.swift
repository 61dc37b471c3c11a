import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A thread that polls a set of UDP sockets and hands each datagram to `onDatagram`, in
/// arrival order per socket. One per ICE transport; stopped by `stop()` through a pipe, so it
/// never blocks shutdown. Callbacks run on this thread: keep them short (yield to a stream).
final class UDPReceiveLoop: @unchecked Sendable {
    // @unchecked: `sockets` and the pipe are immutable after init; `thread` is only touched in
    // start/stop by the owning actor.
    typealias Handler = @Sendable (_ datagram: [UInt8], _ from: TransportAddress, _ to: TransportAddress) -> Void

    private let sockets: [UDPSocket]
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let onDatagram: Handler
    private var thread: Thread?

    init(sockets: [UDPSocket], onDatagram: @escaping Handler) throws(WebRTCDataError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw WebRTCDataError(.transport, .socket, at: "pipe", String(cString: strerror(errno)))
        }
        self.sockets = sockets
        self.wakeRead = fds[0]
        self.wakeWrite = fds[1]
        self.onDatagram = onDatagram
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
            for (index, socket) in sockets.enumerated() where pollSet[index].revents != 0 {
                // Drain what is queued before polling again.
                while let (count, from) = socket.receive(into: &buffer) {
                    onDatagram(Array(buffer[0..<count]), from, socket.localAddress)
                }
            }
        }
    }
}
