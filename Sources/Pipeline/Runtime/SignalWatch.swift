import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGINT and SIGTERM into a call, instead of the default "terminate now" that would
/// lose what sinks hold. The default handlers are ignored while watching (Dispatch needs that to
/// see the signal) and restored by `cancel`.
final class SignalWatch: @unchecked Sendable {
    // Dispatch sources are thread-safe; they are only created and cancelled by the owner.
    private var sources: [any DispatchSourceSignal] = []
    private let signals: [Int32] = [SIGINT, SIGTERM]

    init(onSignal: @escaping @Sendable (Int32) -> Void) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { onSignal(number) }
            source.resume()
            sources.append(source)
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
        sources.removeAll()
        for number in signals { signal(number, SIG_DFL) }
    }
}
