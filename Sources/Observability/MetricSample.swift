/// One value of one metric series as a component reads it off its own counters: the pipeline's
/// stage and track figures, the server's rooms and participants. Components describe what they
/// count with samples; `MetricsPublisher` turns the samples into swift-metrics instruments, so
/// the numbers an operator scrapes are the very counters the end-of-run summaries print.
public struct MetricSample: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// Only grows while the series exists (frames, bytes, drops, reconnects).
        case counter
        /// Goes up and down (queue depth, file size, participants).
        case gauge
    }

    /// Prometheus-style name: `trackbag_` prefix, snake case, `_total` on counters.
    public var name: String
    /// Label name and value pairs, in a fixed order.
    public var labels: [(String, String)]
    public var value: Double
    public var kind: Kind

    public init(_ name: String, _ labels: [(String, String)], _ value: Double, _ kind: Kind) {
        self.name = name
        self.labels = labels
        self.value = value
        self.kind = kind
    }

    public static func counter(_ name: String, _ labels: [(String, String)], _ value: UInt64) -> MetricSample {
        MetricSample(name, labels, Double(value), .counter)
    }

    public static func gauge(_ name: String, _ labels: [(String, String)], _ value: Double) -> MetricSample {
        MetricSample(name, labels, value, .gauge)
    }

    /// Name and labels: what identifies the series.
    var series: String {
        name + "{" + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
    }

    public static func == (a: MetricSample, b: MetricSample) -> Bool {
        a.series == b.series && a.value == b.value && a.kind == b.kind
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(series)
        hasher.combine(value)
    }
}
