import Synchronization

/// How a pipeline asks one source to stop. A source whose input never ends by itself (a room,
/// standard input) registers a handler with `withSourceStopHandler` and ends its `run` on its
/// own, emitting what it still holds; a source that registers none is cancelled instead, which
/// is all a file source needs (it stops reading between batches).
///
/// Stopping by handler rather than by cancellation is what lets a live source hand over its last
/// frames: a cancelled task cannot wait on a blocking edge.
final class SourceStop: Sendable {
    private struct State {
        var handlers: [@Sendable () -> Void] = []
        var stopped = false
    }
    private let state = Mutex(State())

    @TaskLocal static var current: SourceStop?

    /// Calls the handlers; false when the source registered none (the caller cancels it).
    func stop() -> Bool {
        let handlers: [@Sendable () -> Void] = state.withLock { s in
            s.stopped = true
            return s.handlers
        }
        for handler in handlers { handler() }
        return !handlers.isEmpty
    }

    var isStopped: Bool { state.withLock { $0.stopped } }

    fileprivate func register(_ handler: @escaping @Sendable () -> Void) {
        let already = state.withLock { s -> Bool in
            s.handlers.append(handler)
            return s.stopped
        }
        if already { handler() }
    }
}

/// Runs a source's body; when the pipeline stops (SIGINT, `PipelineStop`, graceful shutdown),
/// `onStop` is called and the source is not cancelled, so it can end `body` itself and emit
/// what it holds. Outside a pipeline run `onStop` is never called.
public func withSourceStopHandler<T>(_ body: () async throws -> T,
                                     onStop: @escaping @Sendable () -> Void) async rethrows -> T {
    SourceStop.current?.register(onStop)
    return try await body()
}

/// True once the pipeline asked the current source to stop.
public var isSourceStopRequested: Bool { SourceStop.current?.isStopped ?? false }
