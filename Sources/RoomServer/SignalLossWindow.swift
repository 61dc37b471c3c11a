/// When a participant whose signal WebSocket closed without a `leave` is removed from its room.
///
/// livekit-server keeps such a participant (its peer connection, published tracks and
/// forwarding) so the client can resume: `pkg/service/roommanager.go` `rtcSessionWorker` calls
/// `HandleSignalSourceClose`, and `pkg/rtc/participant.go` closes the participant at once with
/// `ParticipantCloseReasonSignalSourceClose` (→ `DisconnectReason.SIGNAL_CLOSE`,
/// `pkg/rtc/types/interfaces.go`) only when no transport ever got ICE-connected. Otherwise the
/// participant stays until its peer connection is lost, and then `disconnectCleanupDuration`
/// (5 s) more. We cannot resume a session (no ICE restart in our stack; a resume attempt is
/// answered with `Leave{RECONNECT}` and the client re-joins, replacing the kept participant with
/// DUPLICATE_IDENTITY), so the wait is also bounded: `resume` = LiveKit's `PingTimeoutSeconds`
/// (15 s, `pkg/rtc/participant.go`), the silence after which either side takes a signal
/// connection for dead; the SDKs re-join well within it (the Rust SDK's first attempt is
/// immediate, our client's within 300 ms). Whoever is still kept then is removed with
/// SIGNAL_CLOSE, the cause of its departure.
///
/// A value type with an injected time (docs/ARCHITECTURE.md): the session actor owns one, feeds it the
/// events and sleeps until `deadline`.
struct SignalLossWindow: Sendable, Equatable {
    /// The longest a participant is kept after its signal connection closed.
    static let resume: Duration = .seconds(15)
    /// How long it is kept once its peer connection is lost too (LiveKit's
    /// `disconnectCleanupDuration`).
    static let afterTransportLoss: Duration = .seconds(5)

    enum Decision: Equatable {
        /// Never connected: nothing to keep (LiveKit `HandleSignalSourceClose`).
        case removeNow
        /// Kept until this time unless it re-joins first.
        case keepUntil(ContinuousClock.Instant)
    }

    var resume: Duration = Self.resume
    var afterTransportLoss: Duration = Self.afterTransportLoss
    /// Set once the signal connection closed without a leave; nil while it is open.
    private(set) var deadline: ContinuousClock.Instant?

    /// The signal connection closed. `transportConnected`: a peer connection of the participant
    /// reached `connected` at some point; `transportLost`: the connection in use has since
    /// failed or closed.
    mutating func signalClosed(transportConnected: Bool, transportLost: Bool,
                               now: ContinuousClock.Instant) -> Decision {
        guard transportConnected else { return .removeNow }
        let until = now + (transportLost ? min(afterTransportLoss, resume) : resume)
        deadline = until
        return .keepUntil(until)
    }

    /// The peer connection failed or closed. While the participant is kept, the deadline moves
    /// closer (never later); returns the new one, or nil when nothing changed.
    mutating func transportLost(now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        guard let current = deadline else { return nil }
        let sooner = now + afterTransportLoss
        guard sooner < current else { return nil }
        deadline = sooner
        return sooner
    }

    /// True while the participant is kept without a signal connection.
    var isKeeping: Bool { deadline != nil }
}
