import Foundation

/// A pipeline config file, Vector-style (docs/ARCHITECTURE.md):
///
/// ```yaml
/// sources:
///   in: {type: jsonl, path: in.jsonl}
/// transforms:
///   imu: {type: filter, inputs: [in], condition: 'track == "imu"'}
/// sinks:
///   out: {type: jsonl, inputs: [imu], path: out.jsonl, buffer: {size: 1024, when_full: block}}
/// ```
///
/// Each stage is a map with `type`, `inputs` (transforms and sinks), optional `buffer` (the
/// queue in front of the stage, see `EdgeBuffer`) and its own options, which its registered
/// factory decodes. `schemas/pipeline.schema.json` describes the same shape for editors.
public struct PipelineConfig: Sendable {
    public struct StageDeclaration: Sendable {
        public var name: String
        public var kind: StageKind
        public var type: String?
        public var inputs: [(name: String, position: ConfigPosition)]
        /// The `buffer` map, decoded when the config is compiled.
        public var bufferNode: ConfigNode?
        /// Everything but `type`, `inputs` and `buffer`.
        public var options: StageOptions
        /// Where the stage's name was written.
        public var position: ConfigPosition
        public var typePosition: ConfigPosition?
    }

    public var file: String?
    public var stages: [StageDeclaration]
    /// The top-level `schemas:` list: folders of schema files, relative to the config file.
    public var schemaDirectories: [String] = []
    /// Shape problems found while reading (a stage that is not a map, a `type` that is a list…),
    /// reported with the graph's own problems when the config is compiled.
    public var problems: [PipelineError]

    /// Reads a config file. Only an unreadable file or a syntax error throws here; everything
    /// else is collected and reported together by `compile`.
    public static func load(path: String) throws -> PipelineConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PipelineError(message: "cannot read config file", file: path)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PipelineError(message: "config file is not UTF-8 text", file: path)
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String? = nil) throws -> PipelineConfig {
        let root = try ConfigNode.parse(text, file: file)
        var config = PipelineConfig(file: file, stages: [], problems: [])
        func problem(_ message: String, _ position: ConfigPosition, stage: String? = nil) {
            config.problems.append(PipelineError(message: message, file: file, line: position.line,
                                                 column: position.column, stage: stage))
        }
        guard let sections = root.mappingMembers else {
            problem("the config must be a map with sources, transforms and sinks", root.position)
            return config
        }
        for section in sections {
            let kind: StageKind
            switch section.key {
            case "schemas":
                let items: [ConfigNode]
                switch section.value.content {
                case .sequence(let list): items = list
                case .scalar(_, let k) where k != .null: items = [section.value]
                default: items = []
                }
                for item in items {
                    guard let folder = item.scalarText else {
                        problem("a 'schemas' entry must be a folder path, found \(item.typeName)", item.position)
                        continue
                    }
                    config.schemaDirectories.append(Self.resolve(folder, relativeTo: file))
                }
                continue
            case "sources": kind = .source
            case "transforms": kind = .transform
            case "sinks": kind = .sink
            default:
                problem("unknown section '\(section.key)' (expected sources, transforms, sinks, schemas)", section.keyPosition)
                continue
            }
            if case .scalar(_, .null) = section.value.content { continue }  // `transforms:` left empty
            guard let declared = section.value.mappingMembers else {
                problem("'\(section.key)' must be a map of named stages", section.value.position)
                continue
            }
            for entry in declared {
                guard let members = entry.value.mappingMembers else {
                    problem("a stage must be a map with at least 'type', found \(entry.value.typeName)",
                            entry.value.position, stage: entry.key)
                    continue
                }
                var declaration = StageDeclaration(name: entry.key, kind: kind, type: nil, inputs: [], bufferNode: nil,
                                                   options: StageOptions(), position: entry.keyPosition, typePosition: nil)
                var own: [(key: String, keyPosition: ConfigPosition, value: ConfigNode)] = []
                var sawType = false
                for member in members {
                    switch member.key {
                    case "type":
                        sawType = true
                        declaration.typePosition = member.value.position
                        if case .scalar(let text, let scalarKind) = member.value.content, scalarKind != .null {
                            declaration.type = text
                        } else {
                            problem("'type' must be a stage type name, found \(member.value.typeName)",
                                    member.value.position, stage: entry.key)
                        }
                    case "inputs":
                        switch member.value.content {
                        case .sequence(let items):
                            for item in items {
                                if let name = item.scalarText {
                                    declaration.inputs.append((name, item.position))
                                } else {
                                    problem("an input must be a stage name, found \(item.typeName)", item.position, stage: entry.key)
                                }
                            }
                        case .scalar(let text, let scalarKind) where scalarKind != .null:
                            // Vector accepts a single name too.
                            declaration.inputs.append((text, member.value.position))
                        default:
                            problem("'inputs' must be a list of stage names, found \(member.value.typeName)",
                                    member.value.position, stage: entry.key)
                        }
                        if kind == .source {
                            problem("a source takes no inputs", member.keyPosition, stage: entry.key)
                            declaration.inputs = []
                        }
                    case "buffer":
                        if kind == .source {
                            problem("'buffer' belongs on the transform or sink that reads this source", member.keyPosition, stage: entry.key)
                        } else {
                            declaration.bufferNode = member.value
                        }
                    default:
                        own.append(member)
                    }
                }
                if !sawType {
                    problem("missing 'type'", entry.keyPosition, stage: entry.key)
                }
                declaration.options = StageOptions(node: ConfigNode(.mapping(own), at: entry.value.position),
                                                   file: file, stage: entry.key)
                config.stages.append(declaration)
            }
        }
        return config
    }

    /// Compiles the config against a registry (`BuiltinStages.all`): builds every stage, decodes
    /// every option and checks the graph. All problems are collected and thrown together as one
    /// `PipelineError` (its `problems` lists each, with file, line, column and stage).
    ///
    /// Factories must not open files or sockets (that happens when a stage runs), so compiling
    /// is also what `trackbag validate` does.
    /// A folder named in a config, relative to the config file's folder unless absolute.
    static func resolve(_ folder: String, relativeTo file: String?) -> String {
        guard !folder.hasPrefix("/"), let file, let slash = file.lastIndex(of: "/") else { return folder }
        return String(file[..<slash]) + "/" + folder
    }

    /// `extraSchemaDirectories` (`--schemas DIR`) come after the config's own `schemas:` list.
    public func compile(registry: [StageRegistration], environment: [String: String] = [:],
                       extraSchemaDirectories: [String] = []) throws -> PipelineGraph {
        var errors = problems
        var graph = PipelineGraph()
        for declaration in stages {
            let name = declaration.name
            var buffer = EdgeBuffer()
            if let bufferNode = declaration.bufferNode {
                let options = StageOptions(node: bufferNode, file: file, stage: name)
                do {
                    let decoded = try options.decode(EdgeBufferOptions.self)
                    if let size = decoded.size, size < 1 {
                        errors.append(options.error("buffer size must be at least 1 frame, found \(size)",
                                                    at: bufferNode["size"]?.position))
                    }
                    var policy: OverflowPolicy?
                    if let text = decoded.whenFull {
                        policy = OverflowPolicy(rawValue: text)
                        if policy == nil {
                            let allowed = OverflowPolicy.allCases.map(\.rawValue).joined(separator: ", ")
                            errors.append(options.error("buffer when_full '\(text)' is not one of \(allowed)",
                                                        at: bufferNode["when_full"]?.position))
                        }
                    }
                    buffer = EdgeBuffer(capacity: decoded.size ?? EdgeBuffer.defaultCapacity, policy: policy)
                } catch let error as PipelineError {
                    errors.append(contentsOf: error.allProblems)
                } catch {
                    errors.append(options.error("buffer: \(error)", at: bufferNode.position))
                }
            }
            guard let type = declaration.type else { continue }
            guard let registration = registry.first(where: { $0.type == type && $0.kind == declaration.kind }) else {
                let known = registry.filter { $0.kind == declaration.kind }.map(\.type).sorted()
                var message = "unknown \(declaration.kind.rawValue) type '\(type)'"
                if let other = registry.first(where: { $0.type == type }) {
                    message += " ('\(type)' is a \(other.kind.rawValue), declare it under \(other.kind.rawValue)s)"
                }
                message += known.isEmpty ? "" : "; known: \(known.joined(separator: ", "))"
                let at = declaration.typePosition ?? declaration.position
                errors.append(PipelineError(message: message, file: file, line: at.line, column: at.column, stage: name))
                continue
            }
            let context = StageBuildContext(stageName: name, configPath: file, environment: environment,
                                            schemaDirectories: schemaDirectories + extraSchemaDirectories)
            do {
                let built = try registration.build(declaration.options, context)
                graph.add(name, built, type: type, inputs: declaration.inputs.map(\.name), buffer: buffer,
                          isLive: registration.isLive)
            } catch let error as PipelineError {
                errors.append(contentsOf: error.allProblems.map { problem in
                    var placed = problem
                    placed.stage = placed.stage ?? name
                    placed.file = placed.file ?? file
                    if placed.line == nil {
                        placed.line = declaration.position.line
                        placed.column = declaration.position.column
                    }
                    return placed
                })
            } catch {
                errors.append(PipelineError(message: "\(error)", file: file, line: declaration.position.line,
                                            column: declaration.position.column, stage: name))
            }
        }
        let check = GraphCheck(stages: stages.map {
            GraphCheck.Stage(name: $0.name, kind: $0.kind, inputs: $0.inputs.map { ($0.name, $0.position) }, position: $0.position)
        })
        errors.append(contentsOf: check.problems(file: file))
        let positions = Dictionary(stages.map { ($0.name, $0.position) }, uniquingKeysWith: { a, _ in a })
        errors.append(contentsOf: graph.fileProblems().map { problem in
            var placed = problem
            placed.line = problem.stage.flatMap { positions[$0]?.line }
            placed.column = problem.stage.flatMap { positions[$0]?.column }
            return placed
        })
        guard errors.isEmpty else {
            let sorted = errors.enumerated().sorted { a, b in
                let x = (a.element.line ?? Int.max, a.element.column ?? 0, a.offset)
                let y = (b.element.line ?? Int.max, b.element.column ?? 0, b.offset)
                return x < y
            }.map(\.element)
            throw sorted.count == 1 ? sorted[0] : PipelineError(grouping: sorted)
        }
        return graph
    }
}
