/// Track handles in use on one side of one connection: a publisher's `pub_handle`s (client
/// chosen, unique per publisher) or the subscriber handles a server assigns per subscriber
/// connection. Handles are 1…65535; 0 is invalid (packet v0: base header). Allocation gives the
/// lowest free handle, so handles stay small and a released one is reused.
public struct HandleAllocator: Sendable, Equatable {
    private var used = Set<UInt16>()
    /// Search starts here; every handle below it is in use.
    private var lowestMaybeFree: UInt16 = 1

    public init() {}

    public var count: Int { used.count }

    public func contains(_ handle: UInt16) -> Bool { used.contains(handle) }

    /// The lowest free handle, now in use; nil when all 65,535 are taken.
    public mutating func allocate() -> UInt16? {
        var candidate = lowestMaybeFree
        while used.contains(candidate) {
            if candidate == .max { return nil }
            candidate += 1
        }
        used.insert(candidate)
        lowestMaybeFree = candidate == .max ? candidate : candidate + 1
        return candidate
    }

    /// Marks a specific handle used (a publisher re-publishing with its old handle after a
    /// reconnect, docs/WIRE.md). False when it is 0 or already in use.
    public mutating func reserve(_ handle: UInt16) -> Bool {
        guard handle != 0, !used.contains(handle) else { return false }
        used.insert(handle)
        return true
    }

    public mutating func release(_ handle: UInt16) {
        guard used.remove(handle) != nil else { return }
        if handle < lowestMaybeFree { lowestMaybeFree = handle }
    }
}
