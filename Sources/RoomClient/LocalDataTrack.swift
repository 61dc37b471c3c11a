import DataTracks
import Synchronization

/// A data track we publish. `tryPush` never waits: frames go into a 16-frame queue that a task
/// packetizes and sends, in order (docs/WIRE.md, "Publisher queue").
public final class LocalDataTrack: Sendable {
    public static let queueCapacity = 16

    public let handle: UInt16
    public let name: String
    private let queue: AsyncStream<DataTrackFrame>.Continuation
    private let room: Room
    private let sid = Mutex<String>("")
    private let counters = Mutex<(pushed: Int, dropped: Int)>((0, 0))

    private init(handle: UInt16, name: String, room: Room, queue: AsyncStream<DataTrackFrame>.Continuation) {
        self.handle = handle
        self.name = name
        self.room = room
        self.queue = queue
    }

    static func make(handle: UInt16, name: String, room: Room) -> (LocalDataTrack, AsyncStream<DataTrackFrame>) {
        let (stream, continuation) = AsyncStream.makeStream(of: DataTrackFrame.self,
                                                            bufferingPolicy: .bufferingOldest(queueCapacity))
        return (LocalDataTrack(handle: handle, name: name, room: room, queue: continuation), stream)
    }

    /// The server's current `DTR_…` sid (it changes when the room re-joins).
    public var trackSid: String { sid.withLock { $0 } }
    func setSid(_ value: String) { sid.withLock { $0 = value } }

    /// Frames accepted and refused by `tryPush` so far.
    public var pushedFrames: Int { counters.withLock { $0.pushed } }
    public var droppedFrames: Int { counters.withLock { $0.dropped } }

    /// Queues `frame` for sending; `.dropped` when 16 frames wait already, `.unpublished` after
    /// `unpublish()` or disconnect.
    public func tryPush(_ frame: DataTrackFrame) throws(RoomClientError) {
        switch queue.yield(frame) {
        case .enqueued:
            counters.withLock { $0.pushed += 1 }
        case .dropped:
            counters.withLock { $0.dropped += 1 }
            throw .dropped
        case .terminated:
            throw .unpublished
        @unknown default:
            throw .unpublished
        }
    }

    /// Stops the track: the server is told, later `tryPush` calls fail with `.unpublished`.
    public func unpublish() async {
        queue.finish()
        await room.unpublish(handle: handle)
    }

    /// Ends the queue without telling the server (room disconnected).
    func close() { queue.finish() }
}
