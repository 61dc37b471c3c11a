#if os(Linux)
import Glibc
import CUDP

/// Preallocated room for one `recvmmsg(2)`: `slots` datagrams of at most `slotSize` bytes each,
/// with their source addresses. Owned by one receive thread (`UDPReceiveLoop`) and reused for
/// every call, so reading a batch allocates nothing; the owner copies each datagram it keeps
/// once, into the `[UInt8]` that crosses to its consumer.
///
/// A datagram longer than its slot is cut by the kernel, which says so with MSG_TRUNC and no
/// other trace: `isTruncated` reports it, and the owner drops and counts it, so a cut datagram
/// never passes for a whole one.
final class UDPReceiveSlab {
    /// Our datagrams are at most 1200 bytes (the DTLS and SCTP MTU, docs/WIRE.md "Transport");
    /// a peer's may be somewhat larger (a full 1500-byte Ethernet frame's payload is 1472).
    static let defaultSlotSize = 2048

    let slots: Int
    let slotSize: Int
    /// Datagrams the last `receive(from:)` read.
    private(set) var count = 0
    private let storage: UnsafeMutableRawPointer
    private let headers: UnsafeMutablePointer<cudp_mmsghdr>
    private let vectors: UnsafeMutablePointer<iovec>
    private let addresses: UnsafeMutablePointer<sockaddr_storage>

    init(slots: Int, slotSize: Int = UDPReceiveSlab.defaultSlotSize) {
        precondition(slots > 0 && slotSize > 0)
        self.slots = slots
        self.slotSize = slotSize
        storage = .allocate(byteCount: slots * slotSize, alignment: 16)
        headers = .allocate(capacity: slots)
        vectors = .allocate(capacity: slots)
        addresses = .allocate(capacity: slots)
        addresses.initialize(repeating: sockaddr_storage(), count: slots)
        for index in 0..<slots {
            vectors[index] = iovec(iov_base: storage + index * slotSize, iov_len: slotSize)
            var header = cudp_mmsghdr()
            header.msg_hdr.msg_name = UnsafeMutableRawPointer(addresses + index)
            header.msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
            header.msg_hdr.msg_iov = vectors + index
            header.msg_hdr.msg_iovlen = 1
            headers[index] = header
        }
    }

    deinit {
        storage.deallocate()
        headers.deallocate()
        vectors.deallocate()
        addresses.deallocate()
    }

    /// Reads up to `slots` datagrams queued on `fileDescriptor` (non-blocking) with one system
    /// call, in arrival order; 0 when none is queued or the call failed.
    @discardableResult
    func receive(from fileDescriptor: Int32) -> Int {
        // The kernel wrote the address lengths of the slots used last time; give them back
        // their full size.
        for index in 0..<count {
            headers[index].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
        }
        var received: Int32
        repeat {
            received = cudp_recvmmsg(fileDescriptor, headers, UInt32(slots), 0)
        } while received < 0 && errno == EINTR
        count = max(0, Int(received))
        return count
    }

    /// True when datagram `index` of the last read was longer than its slot (and so is cut).
    func isTruncated(_ index: Int) -> Bool {
        precondition(index < count)
        return headers[index].msg_hdr.msg_flags & cudp_msg_trunc != 0
    }

    /// Datagram `index` of the last read, valid until the next `receive(from:)`.
    func bytes(_ index: Int) -> UnsafeRawBufferPointer {
        precondition(index < count)
        return UnsafeRawBufferPointer(start: storage + index * slotSize, count: Int(headers[index].msg_len))
    }

    /// Where datagram `index` of the last read came from.
    func source(_ index: Int) -> TransportAddress? {
        precondition(index < count)
        return UDPSocket.transportAddress(addresses[index])
    }
}
#endif
