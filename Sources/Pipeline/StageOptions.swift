/// A stage's own options from the config (everything but `type`, `inputs` and `buffer`), with
/// the position of each value in its file so errors can name file, line and column.
///
/// Stages declare a `Config: Decodable` type and call `decode`; keys the type does not read are
/// rejected as unknown options, values of the wrong type as type mismatches, both as
/// `PipelineError`s that carry the file, line, column and stage name.
public struct StageOptions: Sendable {
    /// The stage's mapping, already stripped of `type`, `inputs` and `buffer`; nil for a stage
    /// built in code with no options.
    public var node: ConfigNode?
    public var file: String?
    public var stage: String?

    /// No options (a stage built in code, or one whose config names only `type`).
    public init() {}

    public init(node: ConfigNode?, file: String? = nil, stage: String? = nil) {
        self.node = node
        self.file = file
        self.stage = stage
    }

    /// Options parsed from YAML or JSON text (tests, programmatic use).
    public init(yaml: String, file: String? = nil, stage: String? = nil) throws {
        self.init(node: try ConfigNode.parse(yaml, file: file), file: file, stage: stage)
    }

    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let root = node ?? ConfigNode(.mapping([]), at: ConfigPosition(line: 0, column: 0))
        let reads = OptionReads()
        let decoder = OptionsDecoder(node: root, codingPath: [], reads: reads, place: self)
        decoder.registerMapping()
        var value: T?
        var complete = true
        do {
            value = try T(from: decoder)
        } catch let error as PipelineError {
            reads.problems.append(error)
            complete = false
        } catch is OptionReads.Abandoned {
            complete = false
        } catch let error as DecodingError {
            // A config type's own check of a stand-in value repeats a mistake already recorded.
            if !reads.usedStandIn(at: Self.path(of: error)) { reads.problems.append(translate(error, root: root)) }
            complete = false
        }
        // Vector's rule: an option no field reads is a mistake (a typo, a misplaced key), not
        // something to ignore silently. Once decoding stopped early, keys after the stop were
        // never asked for, so only keys that look like a misspelt known one are reported then.
        var problems = reads.problems
        for container in reads.containers {
            for member in container.members where !container.read.contains(member.key) {
                let suggestion = Self.closest(to: member.key, missing: container.absent, known: container.read)
                guard complete || suggestion != nil else { continue }
                let path = (container.path + [member.key]).joined(separator: ".")
                let hint = suggestion.map { " (did you mean '\($0)'?)" } ?? ""
                problems.append(error("unknown option '\(path)'\(hint)", at: member.keyPosition))
            }
        }
        problems.sort { ($0.line ?? 0, $0.column ?? 0) < ($1.line ?? 0, $1.column ?? 0) }
        if let first = problems.first {
            throw problems.count == 1 ? first : PipelineError(grouping: problems)
        }
        guard let value else { throw error("options did not decode", at: root.position) }
        return value
    }

    /// The option path a `DecodingError` is about (`["buffer", "size"]`).
    static func path(of error: DecodingError) -> [String] {
        let context: DecodingError.Context
        switch error {
        case .keyNotFound(let key, let c): return c.codingPath.map(\.stringValue) + [key.stringValue]
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): context = c
        @unknown default: return []
        }
        return context.codingPath.map(\.stringValue)
    }

    /// The known option an unknown key most likely meant: the nearest known key when it is
    /// close enough to be a typo, else a required option that is missing (a misspelling beyond
    /// typo distance, `wher` for `condition`, still leaves one behind).
    static func closest(to key: String, missing: Set<String>, known: Set<String>) -> String? {
        let byDistance = { (candidates: Set<String>) in
            candidates.map { ($0, editDistance(key, $0)) }.min { ($0.1, $0.0) < ($1.1, $1.0) }
        }
        if let (name, distance) = byDistance(known), distance <= max(1, min(key.count, name.count) / 3) {
            return name
        }
        return byDistance(missing)?.0
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }

    /// Maps a `DecodingError` thrown by a config type's own code (validation in `init(from:)`,
    /// a missing field) to the place in the file it is about.
    func translate(_ error: DecodingError, root: ConfigNode) -> PipelineError {
        func locate(_ path: [any CodingKey]) -> ConfigNode {
            var node = root
            for key in path {
                if let index = key.intValue, case .sequence(let items) = node.content, index < items.count {
                    node = items[index]
                } else if let next = node[key.stringValue] {
                    node = next
                } else {
                    break
                }
            }
            return node
        }
        func name(_ path: [any CodingKey]) -> String {
            path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let path = context.codingPath + [key]
            return self.error("missing option '\(name(path))'", at: locate(context.codingPath).position)
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let what = context.codingPath.isEmpty ? "options" : "option '\(name(context.codingPath))'"
            return self.error("\(what): \(context.debugDescription)", at: locate(context.codingPath).position)
        @unknown default:
            return self.error("\(error)", at: root.position)
        }
    }
}

/// Which keys of which mappings a config type read, so the rest can be reported as unknown.
/// Lives only for one `decode` call on one task.
final class OptionReads {
    final class Container {
        let path: [String]
        let members: [(key: String, keyPosition: ConfigPosition, value: ConfigNode)]
        /// Keys the config type asked for (present or not).
        var read: Set<String> = []
        /// Keys it asked for that were absent or could not be used (a stand-in took their place).
        var missing: Set<String> = []
        /// Keys it required that were not written at all: what a misspelling leaves behind.
        var absent: Set<String> = []
        init(path: [String], members: [(key: String, keyPosition: ConfigPosition, value: ConfigNode)]) {
            self.path = path
            self.members = members
        }
    }
    /// Thrown when a stand-in value was refused: collection ends, what was found is reported.
    struct Abandoned: Error {}

    var containers: [Container] = []
    /// Mistakes recorded while decoding went on.
    var problems: [PipelineError] = []
    /// The same mapping may be opened twice (a type reading a nested container twice); share the set.
    var byPath: [String: Container] = [:]

    /// Whether decoding used a stand-in for the option at `path` (or one of its parents).
    func usedStandIn(at path: [String]) -> Bool {
        guard !path.isEmpty else { return false }
        for length in 1...path.count {
            let parent = Array(path.prefix(length - 1))
            if byPath[parent.joined(separator: "\u{1}")]?.missing.contains(path[length - 1]) == true { return true }
        }
        return false
    }

    func container(path: [String], members: [(key: String, keyPosition: ConfigPosition, value: ConfigNode)]) -> Container {
        let id = path.joined(separator: "\u{1}")
        if let existing = byPath[id] { return existing }
        let made = Container(path: path, members: members)
        byPath[id] = made
        containers.append(made)
        return made
    }
}

extension StageOptions {
    /// Where option `key` (a top-level key of the stage) was written, so a stage can point
    /// errors it finds inside a value (an expression's column) at the file.
    public func position(of key: String) -> ConfigPosition? {
        node?[key]?.position
    }

    /// An error about this stage's options, placed at `position` (or the stage's own place).
    public func error(_ message: String, at position: ConfigPosition?) -> PipelineError {
        let known = (position ?? node?.position).flatMap { $0.line > 0 ? $0 : nil }
        return PipelineError(message: message, file: file, line: known?.line, column: known?.column, stage: stage)
    }
}

/// The Pipeline module's one error type: what went wrong and where.
///
/// A config with several mistakes gives one `PipelineError` whose `problems` lists each of them
/// (Vector reports every graph error together); `description` then prints one per line.
public struct PipelineError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var file: String?
    public var line: Int?
    public var column: Int?
    public var stage: String?
    /// Every problem found, when this error groups several; empty for a single problem.
    public var problems: [PipelineError] = []

    public init(message: String, file: String? = nil, line: Int? = nil, column: Int? = nil, stage: String? = nil) {
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.stage = stage
    }

    /// Groups several problems into one error (each keeps its own place).
    public init(grouping problems: [PipelineError]) {
        let flat = problems.flatMap { $0.problems.isEmpty ? [$0] : $0.problems }
        self.init(message: "\(flat.count) problems")
        self.file = flat.first?.file
        self.problems = flat
    }

    /// Each problem on its own: the grouped ones, or this one.
    public var allProblems: [PipelineError] { problems.isEmpty ? [self] : problems }

    /// One problem, `file:line:column: stage 'name': message`.
    public var placedMessage: String {
        var place = file ?? ""
        if let line { place += ":\(line)" }
        if let column { place += ":\(column)" }
        var s = place.isEmpty ? "" : place + ": "
        if let stage { s += "stage '\(stage)': " }
        return s + message
    }

    public var description: String {
        allProblems.map(\.placedMessage).joined(separator: "\n")
    }
}
