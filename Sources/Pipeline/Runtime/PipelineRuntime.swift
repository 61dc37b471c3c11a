import Synchronization
import Foundation

extension PipelineGraph {
    /// Runs the pipeline to its end: one task per stage, bounded queues between them. Throws the
    /// graph's structural problems before starting, and a `PipelineError` naming the stage when
    /// a stage fails (the rest of the graph is drained and every sink finished first).
    ///
    /// - Parameter stop: stops the run from outside: sources stop and the graph drains. Signals
    ///   are the business of the service group a command runs the graph in (`PipelineService`,
    ///   `runUntilSignalled`).
    /// - Parameter monitor: reads the counters while the run goes (metrics, status view).
    @discardableResult
    public func run(stop: PipelineStop? = nil, monitor: PipelineMonitor? = nil) async throws -> PipelineReport {
        let report = try await runReporting(stop: stop, monitor: monitor)
        if !report.failures.isEmpty {
            throw report.failures.count == 1 ? report.failures[0] : PipelineError(grouping: report.failures)
        }
        return report
    }

    /// Like `run`, but a stage failure is returned in `report.failures` (with `ending == .failed`)
    /// so the caller can still print the counters.
    public func runReporting(stop: PipelineStop? = nil, monitor: PipelineMonitor? = nil) async throws -> PipelineReport {
        let problems = problems()
        if !problems.isEmpty {
            throw problems.count == 1 ? problems[0] : PipelineError(grouping: problems)
        }
        let run = PipelineRun(graph: self)
        monitor?.attach(run)
        return await run.execute(stop: stop)
    }
}

/// One execution of a graph. Owns the queues; each stage's state is confined to its task.
final class PipelineRun: Sendable {
    struct Control {
        var sources: [(task: Task<Void, any Error>, stop: SourceStop)] = []
        var stopRequests = 0
        var ending: PipelineReport.Ending = .finished
        var failures: [PipelineError] = []
    }

    let graph: PipelineGraph
    let queues: [String: BatchQueue]
    let outputs: [String: StageOutput]
    let progress: [String: StageProgress]
    let control = Mutex(Control())
    let started = monotonicNanoseconds()

    init(graph: PipelineGraph) {
        self.graph = graph
        var queues: [String: BatchQueue] = [:]
        for node in graph.nodes where node.kind != .source {
            queues[node.name] = BatchQueue(capacity: node.buffer.capacity, policy: graph.policy(of: node),
                                           producers: node.inputs.count)
        }
        var outputs: [String: StageOutput] = [:]
        for node in graph.nodes where node.kind != .sink {
            let consumers = graph.nodes.filter { $0.inputs.contains(node.name) }.compactMap { queues[$0.name] }
            outputs[node.name] = StageOutput(queues: consumers, checksCancellation: node.kind == .source)
        }
        self.queues = queues
        self.outputs = outputs
        progress = Dictionary(uniqueKeysWithValues: graph.nodes.filter { $0.kind != .source }.map { ($0.name, StageProgress()) })
    }

    /// The counters so far, read without stopping any stage.
    func snapshot() async -> PipelineSnapshot {
        var stages: [PipelineSnapshot.Stage] = []
        for node in graph.nodes {
            let live = progress[node.name]?.state.withLock { $0 } ?? StageProgress.Live()
            var counters = live.counters
            let tally = outputs[node.name]?.tally.withLock { $0 }
            if node.kind == .source {
                counters.framesIn = tally?.frames ?? 0
                counters.framesOut = tally?.frames ?? 0
                counters.bytesIn = tally?.bytes ?? 0
            } else if node.kind == .transform {
                counters.framesOut = tally?.frames ?? 0
            }
            let queue = queues[node.name]
            if let queue { counters.framesDropped = queue.droppedFrames }
            let figures: StageFigures
            switch node.stage {
            case .source(let s): figures = await Self.figures(of: s)
            case .transform(let t): figures = await Self.figures(of: t)
            case .sink(let k): figures = await Self.figures(of: k)
            }
            stages.append(.init(name: node.name, kind: node.kind, type: node.type, counters: counters,
                                bytesOut: node.kind == .sink ? live.bytesOut : tally?.bytes ?? 0,
                                queueDepth: queue?.depth ?? 0, queueCapacity: queue?.capacity ?? 0, figures: figures))
        }
        return PipelineSnapshot(stages: stages, elapsedSeconds: Double(monotonicNanoseconds() - started) / 1e9)
    }

    private static func figures(of stage: Any) async -> StageFigures {
        guard let monitored = stage as? any StageMonitoring else { return StageFigures() }
        return await monitored.figures()
    }

    /// First request: stop the sources and let the graph drain. Later ones: abandon the queues so
    /// sinks finish with what they already have.
    func requestStop(_ why: PipelineReport.Ending) {
        let first: Bool = control.withLock { c in
            c.stopRequests += 1
            if c.ending == .finished { c.ending = why }
            return c.stopRequests == 1
        }
        if first {
            stopSources()
        } else {
            for queue in queues.values { queue.abandon() }
        }
    }

    /// Each source ends through its stop handler if it registered one, else by cancellation.
    private func stopSources() {
        for source in control.withLock({ $0.sources }) where !source.stop.stop() {
            source.task.cancel()
        }
    }

    func fail(_ stage: String, _ kind: StageKind, _ error: any Error) {
        var placed: PipelineError
        if let error = error as? PipelineError {
            placed = error
            placed.stage = placed.stage ?? stage
            if placed.problems.isEmpty {
                placed.message = "\(kind.rawValue) failed: \(placed.message)"
            }
        } else {
            placed = PipelineError(message: "\(kind.rawValue) failed: \(error)", stage: stage)
        }
        let first = control.withLock { c -> Bool in
            c.failures.append(placed)
            c.ending = .failed
            c.stopRequests += 1
            return c.stopRequests == 1
        }
        // A failure stops the sources (nothing new enters) but the rest still drains into sinks.
        if first { stopSources() }
    }

    var isStopping: Bool { control.withLock { $0.stopRequests > 0 } }

    func execute(stop: PipelineStop?) async -> PipelineReport {
        stop?.observe { [self] in requestStop(.stopped) }

        for node in graph.nodes {
            guard case .sink(let sink) = node.stage else { continue }
            let metadata = graph.sessionMetadata(upstreamOf: node)
            if !metadata.isEmpty { await sink.inherit(sessionMetadata: metadata) }
        }
        for node in graph.nodes {
            guard case .transform(let transform) = node.stage, let producer = transform as? any ValueProducingStage else { continue }
            await producer.produce(for: graph.valueReads(downstreamOf: node))
        }
        var reports: [String: PipelineReport.StageReport] = [:]
        await withTaskGroup(of: PipelineReport.StageReport.self) { group in
            for node in graph.nodes {
                group.addTask { [self] in
                    switch node.stage {
                    case .source(let source): return await runSource(node, source)
                    case .transform(let transform): return await runTransform(node, transform)
                    case .sink(let sink): return await runSink(node, sink)
                    }
                }
            }
            for await report in group { reports[report.name] = report }
        }
        let elapsed = Double(monotonicNanoseconds() - started) / 1e9
        let (ending, failures) = control.withLock { ($0.ending, $0.failures) }
        return PipelineReport(stages: graph.nodes.compactMap { reports[$0.name] }, elapsedSeconds: elapsed,
                              ending: ending, failures: failures)
    }

    private func statistics(of stage: Any) async -> [(name: String, value: UInt64)] {
        guard let reporting = stage as? any StageStatistics else { return [] }
        return await reporting.statistics()
    }

    private func runSource(_ node: PipelineGraph.Node, _ source: any SourceStage) async -> PipelineReport.StageReport {
        let output = outputs[node.name] ?? StageOutput(queues: [], checksCancellation: true)
        let started = monotonicNanoseconds()
        let stop = SourceStop()
        let task = Task { try await SourceStop.$current.withValue(stop) { try await source.run(into: output) } }
        let stopNow = control.withLock { c -> Bool in
            c.sources.append((task, stop))
            return c.stopRequests > 0
        }
        if stopNow, !stop.stop() { task.cancel() }
        do {
            try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
        } catch is CancellationError where isStopping || Task.isCancelled {
            // Stopped on request: a normal end.
        } catch {
            if !(isStopping && task.isCancelled) { fail(node.name, .source, error) }
        }
        output.close()
        let wall = monotonicNanoseconds() - started
        let tally = output.tally.withLock { $0 }
        var counters = StageCounters()
        counters.framesIn = tally.frames
        counters.framesOut = tally.frames
        counters.bytesIn = tally.bytes
        let busy = Double(wall > tally.emitNanoseconds ? wall - tally.emitNanoseconds : 0) / 1e9
        return .init(name: node.name, kind: .source, type: node.type, counters: counters, busySeconds: busy,
                     policy: nil, statistics: await statistics(of: source))
    }

    private func runTransform(_ node: PipelineGraph.Node, _ transform: any TransformStage) async -> PipelineReport.StageReport {
        let output = outputs[node.name] ?? StageOutput(queues: [], checksCancellation: false)
        var counters = StageCounters()
        let live = progress[node.name]
        var busy: UInt64 = 0
        var failed = false
        if let queue = queues[node.name] {
            while let batch = await queue.next() {
                counters.framesIn &+= UInt64(batch.frames.count)
                counters.bytesIn &+= UInt64(batch.payloadBytes)
                live?.state.withLock { [counters] in $0.counters = counters }
                let start = monotonicNanoseconds()
                do {
                    // Handed over, not copied: the transform may change the frames in place.
                    let out = try await transform.process(consume batch)
                    busy &+= monotonicNanoseconds() &- start
                    try await output.emit(out)
                } catch {
                    failed = true
                    queue.abandon()
                    fail(node.name, .transform, error)
                    break
                }
            }
            counters.framesDropped = queue.droppedFrames
        }
        if !failed {
            do {
                let start = monotonicNanoseconds()
                let rest = try await transform.finish()
                busy &+= monotonicNanoseconds() &- start
                try await output.emit(rest)
            } catch {
                fail(node.name, .transform, error)
            }
        }
        output.close()
        counters.framesOut = output.tally.withLock { $0.frames }
        return .init(name: node.name, kind: .transform, type: node.type, counters: counters,
                     busySeconds: Double(busy) / 1e9, policy: queues[node.name]?.policy,
                     statistics: await statistics(of: transform))
    }

    private func runSink(_ node: PipelineGraph.Node, _ sink: any SinkStage) async -> PipelineReport.StageReport {
        var counters = StageCounters()
        let live = progress[node.name]
        var busy: UInt64 = 0
        var bytesOut: UInt64 = 0
        if let queue = queues[node.name] {
            while let batch = await queue.next() {
                counters.framesIn &+= UInt64(batch.frames.count)
                let bytes = UInt64(batch.payloadBytes)
                counters.bytesIn &+= bytes
                let start = monotonicNanoseconds()
                do {
                    try await sink.write(batch)
                    busy &+= monotonicNanoseconds() &- start
                    counters.framesOut &+= UInt64(batch.frames.count)
                    bytesOut &+= bytes
                    live?.state.withLock { [counters, bytesOut] in
                        $0.counters = counters
                        $0.bytesOut = bytesOut
                    }
                } catch {
                    queue.abandon()
                    fail(node.name, .sink, error)
                    break
                }
            }
            counters.framesDropped = queue.droppedFrames
        }
        // Exactly once, after the last batch, whatever happened before (Stage.swift contract).
        let start = monotonicNanoseconds()
        do {
            try await sink.finish()
        } catch {
            fail(node.name, .sink, error)
        }
        busy &+= monotonicNanoseconds() &- start
        return .init(name: node.name, kind: .sink, type: node.type, counters: counters,
                     busySeconds: Double(busy) / 1e9, policy: queues[node.name]?.policy,
                     statistics: await statistics(of: sink))
    }
}
