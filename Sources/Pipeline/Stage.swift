import TrackModel
import Codecs

/// The three kinds of stage a pipeline config names (Vector-style: sources and sinks are nouns,
/// transforms verbs).
public enum StageKind: String, Sendable, Codable {
    case source, transform, sink
}

/// Where a source sends what it produces. The runtime implements it with the bounded edges to
/// the source's consumers; `emit` suspends under the `block` policy and drops under the drop
/// policies (counted). It throws `CancellationError` once the pipeline is shutting down.
public protocol BatchEmitter: Sendable {
    /// Takes the batch over (`consuming`): emit a batch you no longer need, and the next
    /// stage gets its frames without copying them.
    func emit(_ batch: consuming Batch) async throws
}

/// A source produces batches until its input ends (it returns) or the pipeline shuts down (its
/// task is cancelled). A stage is owned by exactly one task of the runtime; stages with state
/// are actors or final classes confined to that task.
public protocol SourceStage: Sendable {
    func run(into output: any BatchEmitter) async throws
    /// Files the source reads; no sink of the same pipeline may write one of them
    /// (`OutputPath.refuseInput`, checked before anything runs).
    var inputFiles: [String] { get }
    /// Facts about the session its input carries that a recording written from it should keep,
    /// as recording meta (the unit of the user timestamps, the MCAP channels tracks came
    /// from; schemas/recording-format.md). Read once, before the pipeline runs.
    var sessionMetadata: [String: String] { get }
}

extension SourceStage {
    public var inputFiles: [String] { [] }
    public var sessionMetadata: [String: String] { [:] }
}

/// A transform turns each incoming batch into an outgoing one. Events pass through unless the
/// transform's job says otherwise.
public protocol TransformStage: Sendable {
    /// Takes the batch over (`consuming`): a transform that keeps most frames changes and
    /// compacts them in place (`Batch.updateFrames`) instead of copying each.
    func process(_ batch: consuming Batch) async throws -> Batch
    /// Called once when all inputs have ended; returns anything still held back.
    func finish() async throws -> Batch
    /// What the transform reads of `Frame.value`. Naming paths (even none) also promises that
    /// the frames it passes on keep their values as they came, so what its consumers read
    /// counts as read through it. The default, `.all`, is always safe.
    var valueReads: ValueReads { get }
}

extension TransformStage {
    public func finish() async throws -> Batch { Batch() }
    public var valueReads: ValueReads { .all }
}

/// What a stage reads of `Frame.value`, so that a `decode` stage upstream builds only that
/// (docs/schemas.md, "Speed").
public enum ValueReads: Sendable, Hashable {
    /// The whole value, or unknown.
    case all
    /// These paths only (`value.accel.z` is `[.member("accel"), .member("z")]`); an empty path
    /// is the whole value.
    case paths(Set<[ValuePathStep]>)

    /// Reads no value.
    public static let none = ValueReads.paths([])

    public func union(_ other: ValueReads) -> ValueReads {
        guard case .paths(let a) = self, case .paths(let b) = other else { return .all }
        return .paths(a.union(b))
    }

    /// The selection a decoder builds for these reads.
    public var selection: ValueSelection {
        guard case .paths(let paths) = self else { return .whole }
        return ValueSelection(paths: paths)
    }
}

/// A transform that sets `Frame.value` (`decode`). Before the first batch the runtime tells it
/// what the stages downstream read (`PipelineGraph.valueReads(downstreamOf:)`), so it may build
/// only that; a stage that is never told (driven outside a graph) builds everything.
public protocol ValueProducingStage: TransformStage {
    func produce(for reads: ValueReads) async
}

/// A sink consumes batches. `finish` flushes and closes: the runtime calls it exactly once,
/// after the last batch, on normal end and on SIGINT/SIGTERM alike, so nothing accepted is lost.
public protocol SinkStage: Sendable {
    func write(_ batch: Batch) async throws
    func finish() async throws
    /// Files the sink writes (before path templates are filled), checked against every
    /// source's `inputFiles`.
    var outputFiles: [String] { get }
    /// What the sources upstream say about the session (`SourceStage.sessionMetadata`), given
    /// once before the first batch; a sink writing a recording keeps it beside its own.
    func inherit(sessionMetadata: [String: String]) async
    /// What the sink reads of `Frame.value` (`ValueReads`); the default, `.all`, is always safe.
    var valueReads: ValueReads { get }
}

extension SinkStage {
    public var outputFiles: [String] { [] }
    public func inherit(sessionMetadata: [String: String]) async {}
    public var valueReads: ValueReads { .all }
}

/// Counters every stage has (Vector's component contract: frames in, out, dropped).
public struct StageCounters: Sendable, Hashable, Codable {
    public var framesIn: UInt64 = 0
    public var framesOut: UInt64 = 0
    public var framesDropped: UInt64 = 0
    public var bytesIn: UInt64 = 0
    public init() {}
}
