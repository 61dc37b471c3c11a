/// One step of a path into a `Value`: an object member by name or an array element by position
/// (`filter`'s `value.accel.z` is `[.member("accel"), .member("z")]`).
public enum ValuePathStep: Sendable, Hashable {
    case member(String)
    case index(Int)
}

extension Value {
    /// The value at `path`: the first member of each name, elements by position; null when a
    /// step is missing or meets a value that is not the container it needs. What `filter`
    /// reads, and what a selective decode must keep (`ValueSelection`).
    @inlinable  // specialised where called: the compiled filter walks a path per frame
    public func at(_ path: [ValuePathStep]) -> Value {
        path.withUnsafeBufferPointer { walk($0, from: 0) }
    }

    /// The rest of `at`'s walk, from step `i`. Each container on the way is looked at in place
    /// (a borrowed argument, its elements through a buffer pointer) and only the value found is
    /// copied: a walk that kept the current container in a variable retained and released
    /// each one it passed, the largest part of `filter`'s cost per frame (docs/schemas.md).
    @inlinable
    func walk(_ path: UnsafeBufferPointer<ValuePathStep>, from i: Int) -> Value {
        guard i < path.count else { return self }
        switch path[i] {
        case .member(let name):
            guard case .object(let members) = self else { return .null }
            return members.withUnsafeBufferPointer { members in
                for j in members.indices where members[j].key == name { return members[j].value.walk(path, from: i + 1) }
                return .null
            }
        case .index(let k):
            guard case .array(let items) = self, k >= 0, k < items.count else { return .null }
            return items.withUnsafeBufferPointer { $0[k].walk(path, from: i + 1) }
        }
    }
}

/// The parts of a decoded value that some reader needs, as a tree of paths. A path ending at a
/// node selects that node's whole subtree; a node with children selects only them.
///
/// `selecting(from:)` defines what a selective decoder must produce (`JSONText.parse(_:selecting:)`):
/// the containers on the way to each selected path, and in them only the selected members and
/// elements. Looking any selected path up in that result (first member of a name, as
/// `Value.subscript(key:)` does; element by position) gives exactly what the same lookup gives
/// in the full value:
/// - an object keeps, in their order, the first member of each selected name;
/// - an array keeps its elements up to the highest selected position, unselected ones as null;
/// - a scalar where a container was expected stays as it is (the lookup below it is null either way).
public struct ValueSelection: Sendable, Hashable {
    /// The whole subtree is selected (a path ended here).
    public private(set) var isWhole: Bool
    public private(set) var members: [String: ValueSelection]
    public private(set) var elements: [Int: ValueSelection]

    /// Everything: what a stage that reads the whole value needs.
    public static let whole = ValueSelection(isWhole: true, members: [:], elements: [:])
    /// Nothing below the root: the payload is still checked, and the value is an empty container.
    public static let nothing = ValueSelection(isWhole: false, members: [:], elements: [:])

    init(isWhole: Bool, members: [String: ValueSelection], elements: [Int: ValueSelection]) {
        self.isWhole = isWhole
        self.members = members
        self.elements = elements
    }

    /// The union of `paths`; an empty path selects everything.
    public init(paths: some Sequence<[ValuePathStep]>) {
        self = .nothing
        for path in paths { add(path[...]) }
    }

    mutating func add(_ path: ArraySlice<ValuePathStep>) {
        if isWhole { return }
        guard let step = path.first else {
            self = .whole
            return
        }
        switch step {
        case .member(let name): members[name, default: .nothing].add(path.dropFirst())
        case .index(let i): elements[i, default: .nothing].add(path.dropFirst())
        }
    }

    /// The union of two selections.
    public func union(_ other: ValueSelection) -> ValueSelection {
        if isWhole || other.isWhole { return .whole }
        var result = self
        for (name, sub) in other.members { result.members[name] = result.members[name].map { $0.union(sub) } ?? sub }
        for (i, sub) in other.elements { result.elements[i] = result.elements[i].map { $0.union(sub) } ?? sub }
        return result
    }

    /// What a selective decoder returns for `value` (see the type's rules).
    public func selecting(from value: Value) -> Value {
        if isWhole { return value }
        switch value {
        case .object(let all):
            var kept: [(key: String, value: Value)] = []
            var taken: Set<String> = []
            for member in all {
                guard let sub = members[member.key], taken.insert(member.key).inserted else { continue }
                kept.append((member.key, sub.selecting(from: member.value)))
            }
            return .object(kept)
        case .array(let items):
            guard let last = elements.keys.max() else { return .array([]) }
            return .array(items.prefix(last + 1).enumerated().map { i, item in
                elements[i].map { $0.selecting(from: item) } ?? .null
            })
        default:
            return value
        }
    }
}
