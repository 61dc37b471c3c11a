import TrackModel
/// A pipeline ready to run: named, built stages and who feeds whom. Made either by
/// `PipelineConfig.compile` from a config file or in code (`trackbag export` is
/// `recording` source → `jsonl` sink built this way):
///
/// ```swift
/// var graph = PipelineGraph()
/// graph.addSource("in", reader)
/// graph.addSink("out", writer, inputs: ["in"])
/// let report = try await graph.run()
/// ```
public struct PipelineGraph: Sendable {
    public struct Node: Sendable {
        public var name: String
        public var kind: StageKind
        /// The registry `type` (`jsonl`, `decode`…), or what the caller named it.
        public var type: String
        public var stage: BuiltStage
        public var inputs: [String]
        public var buffer: EdgeBuffer
        /// For sources: whether edges below default to drop-oldest (see `StageRegistration.isLive`).
        public var isLive: Bool
    }

    public private(set) var nodes: [Node] = []

    public init() {}

    public mutating func addSource(_ name: String, _ stage: any SourceStage, type: String = "source", isLive: Bool = false) {
        nodes.append(Node(name: name, kind: .source, type: type, stage: .source(stage), inputs: [],
                          buffer: EdgeBuffer(), isLive: isLive))
    }

    public mutating func addTransform(_ name: String, _ stage: any TransformStage, inputs: [String],
                                      type: String = "transform", buffer: EdgeBuffer = EdgeBuffer()) {
        nodes.append(Node(name: name, kind: .transform, type: type, stage: .transform(stage), inputs: inputs,
                          buffer: buffer, isLive: false))
    }

    public mutating func addSink(_ name: String, _ stage: any SinkStage, inputs: [String],
                                 type: String = "sink", buffer: EdgeBuffer = EdgeBuffer()) {
        nodes.append(Node(name: name, kind: .sink, type: type, stage: .sink(stage), inputs: inputs,
                          buffer: buffer, isLive: false))
    }

    /// Adds a stage already built by a registry factory.
    public mutating func add(_ name: String, _ stage: BuiltStage, type: String, inputs: [String] = [],
                             buffer: EdgeBuffer = EdgeBuffer(), isLive: Bool = false) {
        let kind: StageKind
        switch stage {
        case .source: kind = .source
        case .transform: kind = .transform
        case .sink: kind = .sink
        }
        nodes.append(Node(name: name, kind: kind, type: type, stage: stage, inputs: inputs, buffer: buffer, isLive: isLive))
    }

    /// The structural problems of the graph (the same checks a config gets, without file positions).
    public func problems() -> [PipelineError] {
        GraphCheck(stages: nodes.map {
            GraphCheck.Stage(name: $0.name, kind: $0.kind, inputs: $0.inputs.map { ($0, nil) }, position: nil)
        }).problems(file: nil) + fileProblems()
    }

    /// A sink whose output is a file some source reads (by name, link or sidecar) would destroy
    /// its own input: refused before anything opens a file.
    public func fileProblems() -> [PipelineError] {
        var inputs: [String] = []
        for node in nodes { if case let .source(s) = node.stage { inputs += s.inputFiles } }
        guard !inputs.isEmpty else { return [] }
        var errors: [PipelineError] = []
        for node in nodes {
            guard case let .sink(s) = node.stage else { continue }
            for output in s.outputFiles {
                do {
                    try OutputPath.refuseInput(output: output, inputs: inputs)
                } catch {
                    errors.append(PipelineError(message: error.message, file: output, stage: node.name))
                }
            }
        }
        return errors
    }

    /// What the sources upstream of `node` (directly or through transforms) say about the
    /// session; a key two of them disagree on is left out rather than guessed.
    func sessionMetadata(upstreamOf node: Node) -> [String: String] {
        let byName = Dictionary(nodes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var seen: Set<String> = []
        var stack = node.inputs
        var merged: [String: String] = [:]
        var disputed: Set<String> = []
        while let name = stack.popLast() {
            guard seen.insert(name).inserted, let upstream = byName[name] else { continue }
            if case let .source(source) = upstream.stage {
                for (key, value) in source.sessionMetadata {
                    if let known = merged[key], known != value { disputed.insert(key) } else { merged[key] = value }
                }
            }
            stack.append(contentsOf: upstream.inputs)
        }
        for key in disputed { merged[key] = nil }
        return merged
    }

    /// What the stages fed by `node` read of `Frame.value`: the union of what each consumer
    /// reads, followed through transforms that name their reads (they pass values on), `.all`
    /// as soon as one consumer reads everything or does not say.
    public func valueReads(downstreamOf node: Node) -> ValueReads {
        var reads = ValueReads.none
        var seen: Set<String> = []
        var stack = [node.name]
        while let name = stack.popLast() {
            for consumer in nodes where consumer.inputs.contains(name) && seen.insert(consumer.name).inserted {
                switch consumer.stage {
                case .sink(let sink):
                    reads = reads.union(sink.valueReads)
                case .transform(let transform):
                    reads = reads.union(transform.valueReads)
                    stack.append(consumer.name)
                case .source:
                    break
                }
                if reads == .all { return .all }
            }
        }
        return reads
    }

    /// The effective overflow policy of the queue in front of `node`: its own, or drop-oldest
    /// when any live source feeds it (directly or through transforms), else block.
    func policy(of node: Node) -> OverflowPolicy {
        if let policy = node.buffer.policy { return policy }
        let byName = Dictionary(nodes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var seen: Set<String> = []
        var stack = node.inputs
        while let name = stack.popLast() {
            guard seen.insert(name).inserted, let upstream = byName[name] else { continue }
            if upstream.kind == .source && upstream.isLive { return .dropOldest }
            stack.append(contentsOf: upstream.inputs)
        }
        return .block
    }
}

/// The graph checks Vector runs before anything starts (its `config/graph.rs`): names, inputs,
/// cycles, reachability. Every problem is collected, none stops the others from being found.
struct GraphCheck {
    struct Stage {
        var name: String
        var kind: StageKind
        var inputs: [(name: String, position: ConfigPosition?)]
        var position: ConfigPosition?
    }

    var stages: [Stage]

    func problems(file: String?) -> [PipelineError] {
        var errors: [PipelineError] = []
        func report(_ message: String, _ stage: String, _ position: ConfigPosition?) {
            errors.append(PipelineError(message: message, file: file, line: position?.line, column: position?.column, stage: stage))
        }
        var byName: [String: Stage] = [:]
        for stage in stages {
            if let first = byName[stage.name] {
                report("name already used by the \(first.kind.rawValue) on line \(first.position?.line ?? 0)", stage.name, stage.position)
            } else {
                byName[stage.name] = stage
            }
        }
        // Inputs: sources take none; others need at least one, each naming a source or transform.
        var consumers: [String: [String]] = [:]
        for stage in stages {
            switch stage.kind {
            case .source:
                if let first = stage.inputs.first {
                    report("a source takes no inputs", stage.name, first.position ?? stage.position)
                }
            case .transform, .sink:
                if stage.inputs.isEmpty {
                    report("a \(stage.kind.rawValue) needs at least one input", stage.name, stage.position)
                }
            }
            var listed: Set<String> = []
            for input in stage.inputs where stage.kind != .source {
                guard listed.insert(input.name).inserted else {
                    report("input '\(input.name)' is listed twice", stage.name, input.position ?? stage.position)
                    continue
                }
                guard let upstream = byName[input.name] else {
                    let hint = nearest(input.name, among: Array(byName.keys)).map { " (did you mean '\($0)'?)" } ?? ""
                    report("input '\(input.name)' names no stage\(hint)", stage.name, input.position ?? stage.position)
                    continue
                }
                if upstream.kind == .sink {
                    report("input '\(input.name)' is a sink, which has no output", stage.name, input.position ?? stage.position)
                    continue
                }
                if input.name == stage.name {
                    report("a stage cannot take its own output as input", stage.name, input.position ?? stage.position)
                    continue
                }
                consumers[input.name, default: []].append(stage.name)
            }
        }
        // Cycles among transforms (sources have no inputs and sinks no consumers).
        var state: [String: Int] = [:]  // 1 on the path, 2 done
        var reportedCycles: Set<String> = []
        func visit(_ name: String, _ path: [String]) {
            if state[name] == 2 { return }
            if state[name] == 1 {
                guard let start = path.firstIndex(of: name) else { return }
                let cycle = Array(path[start...])
                let key = cycle.sorted().joined(separator: ",")
                if reportedCycles.insert(key).inserted, let stage = byName[name] {
                    report("inputs form a cycle: \((cycle + [name]).joined(separator: " → "))", name, stage.position)
                }
                return
            }
            state[name] = 1
            for next in consumers[name] ?? [] where name != next { visit(next, path + [name]) }
            state[name] = 2
        }
        for stage in stages { visit(stage.name, []) }
        // Reachability: every stage must be fed by some source, and every non-sink must feed a sink.
        var fed: Set<String> = []
        var stack = stages.filter { $0.kind == .source }.map(\.name)
        while let name = stack.popLast() {
            guard fed.insert(name).inserted else { continue }
            stack.append(contentsOf: consumers[name] ?? [])
        }
        var drains: Set<String> = []
        var upstreamOf: [String: [String]] = [:]
        for (producer, list) in consumers { for c in list { upstreamOf[c, default: []].append(producer) } }
        stack = stages.filter { $0.kind == .sink }.map(\.name)
        while let name = stack.popLast() {
            guard drains.insert(name).inserted else { continue }
            stack.append(contentsOf: upstreamOf[name] ?? [])
        }
        for stage in stages where byName[stage.name].map({ $0.position == stage.position }) ?? false {
            if stage.kind != .source && !stage.inputs.isEmpty && !fed.contains(stage.name) {
                report("unreachable: no source feeds this \(stage.kind.rawValue)", stage.name, stage.position)
            }
            if stage.kind != .sink && !drains.contains(stage.name) {
                report("output reaches no sink: add it to a sink's inputs or remove it", stage.name, stage.position)
            }
        }
        if !stages.contains(where: { $0.kind == .source }) {
            errors.append(PipelineError(message: "the pipeline has no sources", file: file))
        }
        if !stages.contains(where: { $0.kind == .sink }) {
            errors.append(PipelineError(message: "the pipeline has no sinks", file: file))
        }
        return errors
    }

    /// The known name closest to a misspelt one (edit distance ≤ 2), for "did you mean".
    func nearest(_ name: String, among names: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var row = Array(0...b.count)
            for i in 1...max(1, a.count) where !a.isEmpty {
                var previous = row[0]
                row[0] = i
                for j in stride(from: 1, through: b.count, by: 1) {
                    let current = row[j]
                    row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                    previous = current
                }
            }
            return a.isEmpty ? b.count : row[b.count]
        }
        let target = Array(name)
        return names.map { ($0, distance(target, Array($0))) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
    }
}
