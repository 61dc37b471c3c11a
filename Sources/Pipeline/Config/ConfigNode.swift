import Yams

/// A position in a config file: 1-based line and column (libyaml counts columns in Unicode
/// scalars).
public struct ConfigPosition: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
    public var description: String { "\(line):\(column)" }
}

/// The config file as a tree of values that remember where they were written.
///
/// Why our own tree and not Yams' `Node`: `Node` holds class references (tags, anchors) and is
/// not `Sendable`; stage options travel into factories and across tasks. JSON configs are read
/// by the same YAML parser (a JSON document is a YAML flow document), so both get positions.
public struct ConfigNode: Sendable {
    /// What YAML's core schema resolved a plain scalar to; quoted scalars are always `string`.
    public enum ScalarKind: Sendable, Hashable {
        case null, bool, int, float, string
    }

    public enum Content: Sendable {
        case scalar(String, ScalarKind)
        /// Keys keep file order; each key remembers its own position for "unknown option" errors.
        case mapping([(key: String, keyPosition: ConfigPosition, value: ConfigNode)])
        case sequence([ConfigNode])
    }

    public var content: Content
    public var position: ConfigPosition
    /// For a scalar written on one line: how many columns after `position` its text starts
    /// (0 plain, 1 quoted), so a stage can point at a column inside the value (a filter
    /// expression's syntax error). nil for block scalars (`|`, `>`), whose text starts below.
    public var textColumnOffset: Int?

    public init(_ content: Content, at position: ConfigPosition, textColumnOffset: Int? = nil) {
        self.content = content
        self.position = position
        self.textColumnOffset = textColumnOffset
    }

    /// A short name for the node's type, for "expected X, found Y" messages.
    public var typeName: String {
        switch content {
        case .scalar(_, .null): return "null"
        case .scalar(_, .bool): return "a boolean"
        case .scalar(_, .int): return "an integer"
        case .scalar(_, .float): return "a number"
        case .scalar(_, .string): return "a string"
        case .mapping: return "a map"
        case .sequence: return "a list"
        }
    }

    /// The member named `key` of a mapping, or nil.
    public subscript(key: String) -> ConfigNode? {
        guard case .mapping(let members) = content else { return nil }
        return members.first(where: { $0.key == key })?.value
    }

    public var mappingMembers: [(key: String, keyPosition: ConfigPosition, value: ConfigNode)]? {
        if case .mapping(let m) = content { return m }
        return nil
    }

    /// The scalar text when this is a string-like scalar (any scalar but null).
    public var scalarText: String? {
        if case .scalar(let s, let kind) = content, kind != .null { return s }
        return nil
    }
}

extension ConfigNode {
    /// Parses YAML or JSON text into a tree. Syntax errors become a `PipelineError` with the
    /// file, line and column libyaml reported.
    public static func parse(_ text: String, file: String?) throws -> ConfigNode {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw PipelineError(yamlError: error, file: file)
        } catch {
            throw PipelineError(message: "cannot parse config: \(error)", file: file)
        }
        guard let root else {
            throw PipelineError(message: "the config is empty", file: file, line: 1, column: 1)
        }
        return try ConfigNode(root, file: file, depth: 0, budget: NodeBudget(limit: maximumNodes(forTextOf: text.utf8.count)))
    }

    /// Most nodes a config may expand to: `minimumNodeLimit`, or one per byte of a larger text.
    /// A document without aliases has fewer nodes than bytes, so only alias expansion
    /// ("billion laughs": an anchor referenced many times, nested) reaches the limit.
    static let minimumNodeLimit = 100_000
    static func maximumNodes(forTextOf bytes: Int) -> Int { max(minimumNodeLimit, bytes) }

    /// Nodes still allowed while converting one document.
    final class NodeBudget {
        let limit: Int
        var remaining: Int
        init(limit: Int) {
            self.limit = limit
            remaining = limit
        }
    }

    init(_ node: Node, file: String?, depth: Int, budget: NodeBudget) throws {
        let position = node.mark.map { ConfigPosition(line: $0.line, column: $0.column) }
            ?? ConfigPosition(line: 0, column: 0)
        budget.remaining -= 1
        guard budget.remaining >= 0 else {
            // The position is where the expansion went over: inside an anchored node that an
            // alias repeats.
            throw PipelineError(message: "the config expands to more than \(budget.limit) nodes "
                                + "(YAML aliases repeating anchors, \"billion laughs\"?); refusing to expand it",
                                file: file, line: position.line, column: position.column)
        }
        // A config is a few levels deep; a huge nesting is a hostile file, not a config.
        guard depth < 64 else {
            throw PipelineError(message: "config nested too deeply", file: file,
                                line: position.line, column: position.column)
        }
        switch node {
        case .scalar(let scalar):
            let kind: ScalarKind
            if scalar.style != .plain {
                kind = .string
            } else {
                switch node.tag.rawValue {
                case Tag.Name.null.rawValue: kind = .null
                case Tag.Name.bool.rawValue: kind = .bool
                case Tag.Name.int.rawValue: kind = .int
                case Tag.Name.float.rawValue: kind = .float
                default: kind = .string
                }
            }
            let offset: Int?
            switch scalar.style {
            case .plain: offset = 0
            case .singleQuoted, .doubleQuoted: offset = 1
            default: offset = nil
            }
            self.init(.scalar(scalar.string, kind), at: position, textColumnOffset: offset)
        case .mapping(let mapping):
            var members: [(key: String, keyPosition: ConfigPosition, value: ConfigNode)] = []
            var seen: Set<String> = []
            for (keyNode, valueNode) in mapping {
                let keyPosition = keyNode.mark.map { ConfigPosition(line: $0.line, column: $0.column) } ?? position
                guard case .scalar(let keyScalar) = keyNode else {
                    throw PipelineError(message: "map keys must be plain text", file: file,
                                        line: keyPosition.line, column: keyPosition.column)
                }
                guard seen.insert(keyScalar.string).inserted else {
                    throw PipelineError(message: "duplicate key '\(keyScalar.string)'", file: file,
                                        line: keyPosition.line, column: keyPosition.column)
                }
                members.append((keyScalar.string, keyPosition,
                                try ConfigNode(valueNode, file: file, depth: depth + 1, budget: budget)))
            }
            self.init(.mapping(members), at: position)
        case .sequence(let sequence):
            self.init(.sequence(try sequence.map { try ConfigNode($0, file: file, depth: depth + 1, budget: budget) }), at: position)
        case .alias:
            // Yams resolves aliases while composing; one left over means an anchor we cannot follow.
            throw PipelineError(message: "YAML aliases are not supported in pipeline configs", file: file,
                                line: position.line, column: position.column)
        }
    }
}

extension PipelineError {
    init(yamlError: YamlError, file: String?) {
        switch yamlError {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var message = "YAML syntax: \(problem)"
            if let context { message += " (\(context.text))" }
            self.init(message: message, file: file, line: mark.line, column: mark.column)
        case .duplicatedKeysInMapping(let duplicates, let context):
            self.init(message: "duplicate keys \(duplicates.joined(separator: ", "))", file: file,
                      line: context.mark.line, column: context.mark.column)
        case .reader(let problem, _, _, _):
            self.init(message: "cannot read config text: \(problem)", file: file)
        default:
            self.init(message: "cannot parse config: \(yamlError)", file: file)
        }
    }
}
