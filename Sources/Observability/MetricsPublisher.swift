import CoreMetrics
import Synchronization

/// Publishes samples through swift-metrics: each series gets a `Counter` or a `Gauge` from the
/// factory (the Prometheus one in `trackbag`), created on first sight. Components keep absolute
/// counts, while a swift-metrics counter only takes increments, so the publisher remembers what it
/// last published per series and adds the difference. A series missing from a later round (a
/// stage that ended, a participant that left, a room that closed) is destroyed, so a long-running
/// server does not keep a series per participant it ever had.
public final class MetricsPublisher: Sendable {
    private enum Instrument {
        case counter(Counter, published: Double)
        case gauge(Gauge)
    }

    private struct State {
        var instruments: [String: Instrument] = [:]
    }

    private let factory: any MetricsFactory
    private let state = Mutex(State())

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// Brings every series to the sample's value. Samples of one round must all be given at once.
    public func publish(_ samples: [MetricSample]) {
        state.withLock { s in
            var seen = Set<String>()
            for sample in samples {
                let key = sample.series
                seen.insert(key)
                switch (s.instruments[key], sample.kind) {
                case (.counter(let counter, let published)?, .counter):
                    if sample.value > published {
                        counter.increment(by: Int64(sample.value - published))
                        s.instruments[key] = .counter(counter, published: sample.value)
                    }
                case (.gauge(let gauge)?, .gauge):
                    gauge.record(sample.value)
                case (nil, .counter):
                    let counter = Counter(label: sample.name, dimensions: sample.labels, factory: factory)
                    if sample.value > 0 { counter.increment(by: Int64(sample.value)) }
                    s.instruments[key] = .counter(counter, published: sample.value)
                case (nil, .gauge):
                    let gauge = Gauge(label: sample.name, dimensions: sample.labels, factory: factory)
                    gauge.record(sample.value)
                    s.instruments[key] = .gauge(gauge)
                default:
                    // The same series once as a counter, now as a gauge: a programming error in a
                    // component's sample list; keep the first kind.
                    continue
                }
            }
            for (key, instrument) in s.instruments where !seen.contains(key) {
                switch instrument {
                case .counter(let counter, _): counter.destroy()
                case .gauge(let gauge): gauge.destroy()
                }
                s.instruments[key] = nil
            }
        }
    }
}
