import Synchronization

/// One participant's queue of encoded signal responses, between the room (which never waits)
/// and the WebSocket writer (which waits for the client to read).
///
/// Two rules keep it bounded whatever the participant or the room does:
/// - **Coalescing.** A response that only states the latest value of something (another
///   participant's `ParticipantInfo`, this participant's full data-track handle snapshot) carries
///   a key; a newer one with the same key replaces the unsent older one, moving to the end of
///   the queue (so nothing queued before it is overtaken). A member that reads slowly therefore
///   holds at most one pending update per participant, and still gets every final state.
///   livekit-server keeps the same "latest version wins" rule per participant
///   (`pkg/rtc/participant_signal.go` `SendParticipantUpdate`, the per-subscriber `updateCache`;
///   `pkg/rtc/room.go` `PushAndDequeueUpdates`).
/// - **Backpressure.** Responses without a key are almost all answers to this participant's own
///   requests, so the server reads its next request only while fewer than
///   `Limits.pendingRequests` of them wait (`waitForRoom`): a client pipelining requests faster
///   than it reads the answers is slowed down by TCP, not queued for.
/// - **Limits.** Responses without a key count against `Limits.messages`, livekit-server's
///   response channel size (`pkg/routing/messagechannel.go` `DefaultMessageChannelSize` = 200);
///   all queued bytes count against `Limits.bytes`; and the writer must make progress: a queue
///   that waits for `Limits.stall` without one response taken is a client that stopped reading.
///   Past any of them the outbox fails: it drops what it holds, takes nothing more, and reports
///   why once through `overflowed`, after which the server closes the signal connection.
///   livekit-server closes a signal connection whose response channel is full
///   (`pkg/routing/signal.go` `CopySignalStreamToMessageChannel` ends with `ErrChannelFull`, the
///   response source closes, `pkg/service/rtcservice.go` closes the WebSocket).
final class SignalOutbox: Sendable {
    struct Limits: Sendable, Equatable {
        /// Queued responses without a coalescing key.
        var messages = 200
        /// Queued bytes, every response counted.
        var bytes = 8 << 20
        /// Responses without a key below which the participant's next request is read.
        var pendingRequests = 100
        /// How long responses may wait with none taken by the writer.
        var stall: Duration = .seconds(10)
    }

    /// What a keyed response is the latest value of.
    enum Key: Hashable, Sendable {
        /// A `ParticipantUpdate` about this participant sid.
        case participant(String)
        /// This participant's `DataTrackSubscriberHandles` snapshot.
        case subscriberHandles
    }

    /// What happened to an offered response.
    enum Outcome: Equatable, Sendable {
        case queued
        /// Queued, replacing an unsent response with the same key.
        case replaced
        /// This response did not fit: the outbox overflowed now.
        case overflowed
        /// The outbox had already finished or overflowed; the response was dropped.
        case dropped
    }

    /// Why the outbox stopped taking responses.
    struct Overflow: Equatable, Sendable, CustomStringConvertible {
        enum Cause: Equatable, Sendable {
            /// The message or byte limit was passed.
            case full
            /// The writer took nothing for `Limits.stall`.
            case stalled
        }

        var cause: Cause
        var messages: Int
        var bytes: Int
        var limits: Limits

        var description: String {
            switch cause {
            case .full:
                "signal queue full: \(messages) responses (\(bytes) B) unread, limit \(limits.messages) responses / \(limits.bytes) B"
            case .stalled:
                "signal queue full: \(messages) responses (\(bytes) B) unread for \(limits.stall) (the client stopped reading)"
            }
        }
    }

    private struct Entry {
        var bytes: [UInt8]
        var key: Key?
    }

    private struct State {
        /// Queued entries in order; nil marks one replaced by a later entry with its key.
        var entries: [Entry?] = []
        var head = 0
        var keyed: [Key: Int] = [:]
        var unkeyed = 0
        var bytes = 0
        var live = 0
        var finished = false
        var overflow: Overflow?
        var waiter: CheckedContinuation<[UInt8]?, Never>?
        var coalesced = 0
        /// When the writer last took a response, or the queue was last empty.
        var progress = ContinuousClock.now
    }

    let limits: Limits
    private let state = Mutex(State())
    /// Finishes when the outbox overflows, carrying why (at most one value).
    let overflowed: AsyncStream<Overflow>
    private let overflowSink: AsyncStream<Overflow>.Continuation

    init(limits: Limits = Limits()) {
        self.limits = limits
        (overflowed, overflowSink) = AsyncStream.makeStream(of: Overflow.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues `bytes`, replacing an unsent response with the same `key`.
    @discardableResult
    func send(_ bytes: [UInt8], key: Key? = nil) -> Outcome {
        let (outcome, handOver, overflow) = state.withLock { s -> (Outcome, (CheckedContinuation<[UInt8]?, Never>, [UInt8])?, Overflow?) in
            guard !s.finished, s.overflow == nil else { return (.dropped, nil, nil) }
            // The writer is waiting on an empty queue: hand the response straight over.
            if let waiter = s.waiter {
                s.waiter = nil
                s.progress = .now
                return (.queued, (waiter, bytes), nil)
            }
            var replaced = false
            if let key, let index = s.keyed[key], let old = s.entries[index] {
                s.entries[index] = nil
                s.bytes -= old.bytes.count
                s.live -= 1
                s.coalesced += 1
                replaced = true
            }
            let unkeyed = s.unkeyed + (key == nil ? 1 : 0)
            if unkeyed > limits.messages || s.bytes + bytes.count > limits.bytes {
                let overflow = Overflow(cause: .full, messages: s.live + 1, bytes: s.bytes + bytes.count, limits: limits)
                Self.fail(&s, overflow)
                return (.overflowed, nil, overflow)
            }
            if s.live == 0 { s.progress = .now }
            s.unkeyed = unkeyed
            if let key { s.keyed[key] = s.entries.count }
            s.entries.append(Entry(bytes: bytes, key: key))
            s.bytes += bytes.count
            s.live += 1
            Self.compact(&s)
            return (replaced ? .replaced : .queued, nil, nil)
        }
        if let (waiter, bytes) = handOver { waiter.resume(returning: bytes) }
        if let overflow {
            overflowSink.yield(overflow)
            overflowSink.finish()
        }
        return outcome
    }

    /// Queues a last response even past the limits (a `Leave`), then finishes: `next` returns
    /// what is queued and then nil.
    func finish(last: [UInt8]? = nil) {
        let waiter = state.withLock { s -> (CheckedContinuation<[UInt8]?, Never>, [UInt8]?)? in
            guard !s.finished else { return nil }
            s.finished = true
            if let waiter = s.waiter {
                s.waiter = nil
                return (waiter, last)
            }
            if let last, s.overflow == nil {
                s.entries.append(Entry(bytes: last, key: nil))
                s.bytes += last.count
                s.live += 1
            }
            return nil
        }
        if let (waiter, last) = waiter { waiter.resume(returning: last) }
        overflowSink.finish()
    }

    /// Waits until fewer than `Limits.pendingRequests` responses without a key are queued, so
    /// the caller may read the participant's next request. False when the outbox failed, or
    /// fails now because the writer took nothing for `Limits.stall`.
    func waitForRoom(now: @Sendable () -> ContinuousClock.Instant = { .now }) async -> Bool {
        while true {
            let (ready, overflow) = state.withLock { s -> (Bool?, Overflow?) in
                guard s.overflow == nil else { return (false, nil) }
                if s.finished || s.unkeyed < limits.pendingRequests { return (true, nil) }
                guard now() - s.progress >= limits.stall else { return (nil, nil) }
                let overflow = Overflow(cause: .stalled, messages: s.live, bytes: s.bytes, limits: limits)
                Self.fail(&s, overflow)
                return (false, overflow)
            }
            if let overflow {
                overflowSink.yield(overflow)
                overflowSink.finish()
            }
            if let ready { return ready }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    private static func fail(_ s: inout State, _ overflow: Overflow) {
        s.overflow = overflow
        s.entries = []
        s.head = 0
        s.keyed = [:]
        s.unkeyed = 0
        s.bytes = 0
        s.live = 0
    }

    /// The next response to write, waiting while the queue is empty; nil once finished and
    /// drained, or overflowed.
    func next() async -> [UInt8]? {
        await withCheckedContinuation { (continuation: CheckedContinuation<[UInt8]?, Never>) in
            let ready = state.withLock { s -> [UInt8]?? in
                if s.overflow != nil { return .some(nil) }
                while s.head < s.entries.count {
                    let index = s.head
                    s.head += 1
                    guard let entry = s.entries[index] else { continue }
                    s.entries[index] = nil
                    if let key = entry.key, s.keyed[key] == index { s.keyed[key] = nil }
                    if entry.key == nil { s.unkeyed -= 1 }
                    s.bytes -= entry.bytes.count
                    s.live -= 1
                    s.progress = .now
                    Self.compact(&s)
                    return .some(entry.bytes)
                }
                if s.finished { return .some(nil) }
                s.waiter = continuation
                return .none
            }
            if case .some(let value) = ready { continuation.resume(returning: value) }
        }
    }

    /// Queued responses and bytes, and how many were replaced by newer ones.
    var counters: (messages: Int, bytes: Int, coalesced: Int) {
        state.withLock { ($0.live, $0.bytes, $0.coalesced) }
    }

    /// Drops the slots already read or replaced once they outnumber the live ones, so the
    /// array stays proportional to what is queued; keyed indexes move with it.
    private static func compact(_ s: inout State) {
        let dead = s.entries.count - s.live
        guard dead > 64, dead > s.live else { return }
        var kept: [Entry?] = []
        kept.reserveCapacity(s.live)
        var keyed: [Key: Int] = [:]
        for index in s.head..<s.entries.count {
            guard let entry = s.entries[index] else { continue }
            if let key = entry.key { keyed[key] = kept.count }
            kept.append(entry)
        }
        s.entries = kept
        s.head = 0
        s.keyed = keyed
    }
}
