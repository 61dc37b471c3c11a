/// Reassembles the packets of one subscribed track into frames. A value type driven one packet
/// at a time; the owner (the room client's subscription) routes packets to it by track handle.
///
/// Rules (docs/WIRE.md; LiveKit's `livekit-datatrack/src/remote/depacketizer.rs`):
/// - a `single` packet is a frame;
/// - a `start` packet opens a partial frame; `inter`/`final` packets join the open partial of
///   their frame; a frame is delivered when its start, its final and every sequence number
///   between them are present, i.e. when the run from its start is gap-free up to the final;
/// - at most `maxPartialFrames` partials are open (1 by default): a new frame's `start` or
///   `single` evicts the oldest, dropping it (a gap drops the whole frame, never a part);
/// - a frame of more than 128 packets is dropped;
/// - `inter`/`final` packets of a frame whose start never came drop that frame (counted once).
///
/// Beyond the SDK: a frame's start may come after its other packets. Over an unordered channel
/// a short final packet can complete before a 16,000-byte start packet when datagrams are
/// reordered; the SDK drops such a frame, here its packets wait (at most `maxOrphanFrames`
/// frames, 128 packets each) until the start comes or two newer frames have begun, then the
/// frame is dropped for its missing start.
///
/// Beyond the SDK: duplicates and late packets of frames already delivered or dropped are
/// recognised (by frame number and timestamp, which every packet repeats) and ignored instead
/// of disturbing the open frame; the SDK would re-deliver a duplicated `single` packet. A
/// `final` that arrives before a missing middle packet keeps the frame open until that packet
/// arrives or a newer frame evicts it. Matching on the timestamp too means a publisher that
/// restarts its numbering (new random timestamp base) is not mistaken for duplicates.
public struct Depacketizer: Sendable {
    /// Frames of more packets are dropped (rust-sdks `MAX_BUFFER_PACKETS`).
    public static let maxPacketsPerFrame = 128

    public enum DropReason: String, Sendable, CaseIterable {
        /// A newer frame began while this one was still missing packets (no final seen yet).
        case interrupted
        /// Its start packet never arrived.
        case missingStart
        /// More than 128 packets.
        case tooManyPackets
        /// Its final arrived but a packet between start and final never did (evicted or flushed).
        case incomplete
    }

    public struct Drop: Sendable, Equatable {
        public var frameNumber: UInt16
        public var reason: DropReason
    }

    public struct Output: Sendable {
        public var frame: DepacketizedFrame?
        /// Frames given up on by this push (usually none).
        public var drops: [Drop] = []
    }

    /// Counters since creation; frames dropped are counted per reason.
    public struct Statistics: Sendable, Equatable {
        public var deliveredFrames = 0
        public var interrupted = 0
        public var missingStart = 0
        public var tooManyPackets = 0
        public var incomplete = 0
        /// Duplicates, late packets of finished frames, packets past a frame's final.
        public var ignoredPackets = 0
        /// Messages that did not decode as packet v0 (`push(encoded:)`).
        public var malformedPackets = 0

        public subscript(reason: DropReason) -> Int {
            switch reason {
            case .interrupted: return interrupted
            case .missingStart: return missingStart
            case .tooManyPackets: return tooManyPackets
            case .incomplete: return incomplete
            }
        }
        public var droppedFrames: Int { interrupted + missingStart + tooManyPackets + incomplete }

        mutating func count(_ reason: DropReason) {
            switch reason {
            case .interrupted: interrupted += 1
            case .missingStart: missingStart += 1
            case .tooManyPackets: tooManyPackets += 1
            case .incomplete: incomplete += 1
            }
        }
    }

    public var maxPartialFrames: Int
    public private(set) var statistics = Statistics()

    private struct FrameID: Equatable, Sendable {
        var frameNumber: UInt16
        var timestamp: UInt32
    }

    private struct Partial: Sendable {
        let id: FrameID
        let startSequence: UInt16
        let extensions: DataTrackPacket.Extensions
        /// Index: sequence offset from the start packet.
        var chunks: [ArraySlice<UInt8>?]
        var received: Int
        var finalOffset: Int?

        var isComplete: Bool {
            guard let finalOffset else { return false }
            return received == finalOffset + 1
        }
    }

    private var partials: [Partial] = []
    /// Packets of frames whose start has not come yet, oldest first.
    private struct Orphan: Sendable {
        let id: FrameID
        var packets: [DataTrackPacket]
        /// Newer frames begun since (a start or single of another frame).
        var age = 0
    }
    private var orphans: [Orphan] = []
    static let maxOrphanFrames = 4
    /// Newer frames that may begin before an orphan's start is given up on.
    static let orphanPatience = 2
    /// The last frames delivered or given up on, so their stragglers are recognised.
    private var finished: [FrameID] = []
    private var finishedNext = 0
    private static let finishedMemory = 16

    public init(maxPartialFrames: Int = 1) {
        self.maxPartialFrames = max(1, maxPartialFrames)
    }

    /// Feeds one packet; returns the frame it completed, if any, and frames it caused to drop.
    public mutating func push(_ packet: DataTrackPacket) -> Output {
        let header = packet.header
        let id = FrameID(frameNumber: header.frameNumber, timestamp: header.timestamp)
        var output = Output()
        switch header.marker {
        case .single:
            if finished.contains(id) || partials.contains(where: { $0.id == id }) {
                statistics.ignoredPackets += 1
                return output
            }
            ageOrphans(into: &output)
            evict(toMakeRoomFor: 1, into: &output)
            remember(id)
            statistics.deliveredFrames += 1
            output.frame = DepacketizedFrame(
                payload: Array(packet.payload), userTimestamp: header.extensions.userTimestamp,
                e2ee: header.extensions.e2ee, frameNumber: header.frameNumber,
                timestamp: header.timestamp, packetCount: 1)
        case .start:
            if finished.contains(id) || partials.contains(where: { $0.id == id }) {
                statistics.ignoredPackets += 1
                return output
            }
            let early = orphans.firstIndex(where: { $0.id == id }).map { orphans.remove(at: $0).packets } ?? []
            ageOrphans(into: &output)
            evict(toMakeRoomFor: 1, into: &output)
            partials.append(Partial(id: id, startSequence: header.sequence, extensions: header.extensions,
                                    chunks: [packet.payload], received: 1, finalOffset: nil))
            // Its packets that came first join it now, as if they came after it.
            for waiting in early {
                let result = push(waiting)
                output.drops += result.drops
                if let frame = result.frame { output.frame = frame }
            }
        case .inter, .final:
            guard let slot = partials.firstIndex(where: { $0.id == id }) else {
                if finished.contains(id) {
                    statistics.ignoredPackets += 1
                } else {
                    holdOrphan(packet, id: id, into: &output)
                }
                return output
            }
            let offset = Int(header.sequence &- partials[slot].startSequence)
            if offset >= Self.maxPacketsPerFrame {
                partials.remove(at: slot)
                remember(id)
                drop(id.frameNumber, .tooManyPackets, into: &output)
                return output
            }
            if !add(packet, offset: offset, to: &partials[slot]) {
                statistics.ignoredPackets += 1
            }
            // Checked even for an ignored packet: a final can complete a frame whose slot an
            // earlier packet already filled.
            if partials[slot].isComplete {
                let partial = partials.remove(at: slot)
                remember(id)
                statistics.deliveredFrames += 1
                output.frame = assemble(partial)
            }
        }
        return output
    }

    /// Decodes and feeds one data channel message; a malformed packet is counted and thrown,
    /// and changes nothing else.
    public mutating func push(encoded bytes: [UInt8]) throws(DataTrackError) -> Output {
        let packet: DataTrackPacket
        do {
            packet = try DataTrackPacket(decoding: bytes)
        } catch {
            statistics.malformedPackets += 1
            throw error
        }
        return push(packet)
    }

    /// Whether packets of frame `frameNumber` are held, waiting for the rest or for its start.
    public func holds(frameNumber: UInt16) -> Bool {
        partials.contains { $0.id.frameNumber == frameNumber } || orphans.contains { $0.id.frameNumber == frameNumber }
    }

    /// Gives up on every open partial frame (end of stream); they count as incomplete, and
    /// frames whose start never came as such.
    public mutating func flush() -> [Drop] {
        var output = Output()
        for orphan in orphans {
            remember(orphan.id)
            drop(orphan.id.frameNumber, .missingStart, into: &output)
        }
        orphans = []
        while let partial = partials.first {
            partials.removeFirst()
            remember(partial.id)
            drop(partial.id.frameNumber, .incomplete, into: &output)
        }
        return output.drops
    }

    // MARK: Private

    /// Adds a middle or final packet; false when it is a duplicate or contradicts the frame.
    private func add(_ packet: DataTrackPacket, offset: Int, to partial: inout Partial) -> Bool {
        if offset == 0 { return false }  // the start packet's sequence again
        if let finalOffset = partial.finalOffset, offset > finalOffset { return false }
        if packet.header.marker == .final {
            if partial.finalOffset != nil { return false }
            partial.finalOffset = offset
            // Packets that claimed to lie past the final are not part of this frame.
            if partial.chunks.count > offset + 1 {
                partial.received -= partial.chunks[(offset + 1)...].reduce(0) { $0 + ($1 == nil ? 0 : 1) }
                partial.chunks.removeSubrange((offset + 1)...)
            }
        }
        if partial.chunks.count <= offset {
            partial.chunks.append(contentsOf: repeatElement(nil, count: offset + 1 - partial.chunks.count))
        } else if partial.chunks[offset] != nil {
            return false
        }
        partial.chunks[offset] = packet.payload
        partial.received += 1
        return true
    }

    private func assemble(_ partial: Partial) -> DepacketizedFrame {
        var payload = [UInt8]()
        payload.reserveCapacity(partial.chunks.reduce(0) { $0 + ($1?.count ?? 0) })
        for chunk in partial.chunks { if let chunk { payload.append(contentsOf: chunk) } }
        return DepacketizedFrame(
            payload: payload, userTimestamp: partial.extensions.userTimestamp, e2ee: partial.extensions.e2ee,
            frameNumber: partial.id.frameNumber, timestamp: partial.id.timestamp, packetCount: partial.chunks.count)
    }

    /// Keeps a packet of a frame whose start has not come (bounded in frames and packets).
    private mutating func holdOrphan(_ packet: DataTrackPacket, id: FrameID, into output: inout Output) {
        if let slot = orphans.firstIndex(where: { $0.id == id }) {
            if orphans[slot].packets.contains(where: { $0.header.sequence == packet.header.sequence })
                || orphans[slot].packets.count >= Self.maxPacketsPerFrame {
                statistics.ignoredPackets += 1
            } else {
                orphans[slot].packets.append(packet)
            }
            return
        }
        if orphans.count >= Self.maxOrphanFrames {
            let oldest = orphans.removeFirst()
            remember(oldest.id)
            drop(oldest.id.frameNumber, .missingStart, into: &output)
        }
        orphans.append(Orphan(id: id, packets: [packet]))
    }

    /// Another frame began: frames still waiting for their start have waited one frame more.
    private mutating func ageOrphans(into output: inout Output) {
        guard !orphans.isEmpty else { return }
        for index in orphans.indices { orphans[index].age += 1 }
        while let index = orphans.firstIndex(where: { $0.age >= Self.orphanPatience }) {
            let expired = orphans.remove(at: index)
            remember(expired.id)
            drop(expired.id.frameNumber, .missingStart, into: &output)
        }
    }

    /// Evicts the oldest partials until `needed` more fit under `maxPartialFrames`.
    private mutating func evict(toMakeRoomFor needed: Int, into output: inout Output) {
        while !partials.isEmpty && partials.count + needed > maxPartialFrames {
            let oldest = partials.removeFirst()
            remember(oldest.id)
            drop(oldest.id.frameNumber, oldest.finalOffset == nil ? .interrupted : .incomplete, into: &output)
        }
    }

    private mutating func drop(_ frameNumber: UInt16, _ reason: DropReason, into output: inout Output) {
        statistics.count(reason)
        output.drops.append(Drop(frameNumber: frameNumber, reason: reason))
    }

    private mutating func remember(_ id: FrameID) {
        if finished.count < Self.finishedMemory {
            finished.append(id)
        } else {
            finished[finishedNext] = id
        }
        finishedNext = (finishedNext + 1) % Self.finishedMemory
    }
}
