/// A ROS 2 message type compiled from `.msg` definitions (docs.ros.org, "Interfaces"), in the form
/// MCAP's `ros2msg` schema encoding stores: the root type's text, then each type it uses,
/// separated by a line of `=` and a `MSG: package/Type` line (mcap.dev/spec/registry).
///
/// Constants (`uint8 FOO=1`) are not part of the wire form and are skipped; default values
/// (`float64 w 1.0`) too. Types named without a package resolve to the enclosing type's package,
/// `Header` to `std_msgs/Header`; a type the text does not define is looked up in
/// `ROS2CommonInterfaces` (builtin_interfaces, std_msgs/Header, geometry_msgs, sensor_msgs…).
public struct ROS2MessageSchema: Sendable {
    enum Primitive: String, Sendable {
        case bool, byte, char, int8, uint8, int16, uint16, int32, uint32, int64, uint64
        case float32, float64, string, wstring

        /// Bytes on the wire and the alignment CDR gives it (strings: their uint32 length).
        var size: Int {
            switch self {
            case .bool, .byte, .char, .int8, .uint8: return 1
            case .int16, .uint16: return 2
            case .int32, .uint32, .float32, .string, .wstring: return 4
            case .int64, .uint64, .float64: return 8
            }
        }
    }

    enum ElementType: Sendable {
        case primitive(Primitive, stringBound: Int?)
        case message(Int)
    }

    enum Multiplicity: Sendable, Equatable {
        case single
        case array(Int)
        case sequence(bound: Int?)
    }

    struct Field: Sendable {
        var name: String
        var type: ElementType
        var multiplicity: Multiplicity
    }

    struct MessageType: Sendable {
        /// `package/Type`.
        var name: String
        var fields: [Field]
        /// Fewest bytes one instance takes on the wire (alignment aside), to check sequence
        /// lengths against the bytes left before allocating.
        var minimumSize: Int
    }

    var types: [MessageType]
    let root: Int

    /// Largest fixed array a definition may declare (`float64[N]`); anything larger is refused
    /// when the schema is compiled.
    public static let maximumArrayLength = 1 << 24

    /// The root type's name as given (`sensor_msgs/msg/Imu`).
    public let name: String

    /// Compiles `definition` (MCAP `ros2msg` text) for the type `name` (`pkg/msg/Type` or `pkg/Type`).
    public init(name: String, definition: String) throws(CodecError) {
        self.name = name
        let rootName = Self.normalized(name)
        var sections: [String: (text: Substring, package: String)] = [:]
        let rootPackage = rootName.split(separator: "/").first.map(String.init) ?? ""
        var order: [String] = []
        var current = rootName
        var currentPackage = rootPackage
        var lines: [Substring] = []
        func close() {
            // A blank root definition names a type without carrying it (a track's schema name
            // only): the common interfaces then supply it.
            let blank = lines.allSatisfy { $0.trimmingWhitespace().isEmpty }
            if blank && current == rootName && ROS2CommonInterfaces.definitions[current] != nil {
                lines = []
                return
            }
            if sections[current] == nil {
                sections[current] = (Substring(lines.joined(separator: "\n")), currentPackage)
                order.append(current)
            }
            lines = []
        }
        for line in definition.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingWhitespace()
            if trimmed.count >= 3 && trimmed.allSatisfy({ $0 == "=" }) {
                close()
                current = ""
                continue
            }
            if current.isEmpty {
                if trimmed.hasPrefix("MSG:") {
                    current = Self.normalized(String(trimmed.dropFirst(4).trimmingWhitespace()))
                    currentPackage = current.split(separator: "/").first.map(String.init) ?? ""
                }
                continue
            }
            lines.append(line)
        }
        if !current.isEmpty { close() }

        var compiler = Compiler(sections: sections)
        root = try compiler.compile(rootName, depth: 0)
        types = compiler.types
    }

    /// Compiles a definition given as UTF-8 bytes (an MCAP Schema record's data).
    public init(name: String, definition bytes: [UInt8]) throws(CodecError) {
        guard let text = UTF8Text.string(bytes) else { throw CodecError("ROS 2 message definition is not UTF-8", at: 0) }
        try self.init(name: name, definition: text)
    }

    /// The MCAP `ros2msg` text for `name`: its own definition, then every type it uses, each
    /// after a line of 80 `=` and `MSG: package/msg/Type`, so readers need nothing else.
    /// `definitions` maps `package/msg/Type` (or `package/Type`) to `.msg` text; types it lacks
    /// come from `ROS2CommonInterfaces`.
    public static func bundledDefinition(of name: String, definitions: [String: String]) throws(CodecError) -> String {
        var sections: [String: (text: Substring, package: String)] = [:]
        for (key, text) in definitions {
            let n = normalized(key)
            sections[n] = (Substring(text), n.split(separator: "/").first.map(String.init) ?? "")
        }
        let rootName = normalized(name)
        var compiler = Compiler(sections: sections)
        _ = try compiler.compile(rootName, depth: 0)
        func text(of type: String) -> String {
            sections[type].map { String($0.text) } ?? ROS2CommonInterfaces.definitions[type] ?? ""
        }
        var out = text(of: rootName)
        // `compile` appends a type after the types it uses: reversed, the root comes first.
        for type in compiler.types.reversed() where type.name != rootName {
            let parts = type.name.split(separator: "/")
            out += "\n" + String(repeating: "=", count: 80) + "\nMSG: \(parts[0])/msg/\(parts.dropFirst().joined(separator: "/"))\n"
            out += text(of: type.name)
        }
        return out
    }

    /// The names (`package/Type`) of the ROS 2 interfaces decoded without a definition.
    public static var commonInterfaceNames: [String] { ROS2CommonInterfaces.definitions.keys.sorted() }

    /// `pkg/msg/Type` → `pkg/Type`, the form `.msg` fields name types in.
    static func normalized(_ name: String) -> String {
        let parts = name.split(separator: "/")
        if parts.count == 3 && parts[1] == "msg" { return "\(parts[0])/\(parts[2])" }
        return name
    }

    private struct Compiler {
        var sections: [String: (text: Substring, package: String)]
        var types: [MessageType] = []
        var index: [String: Int] = [:]
        /// Types being compiled: a type that reaches itself again has no finite wire form.
        var inProgress: Set<String> = []

        mutating func compile(_ name: String, depth: Int) throws(CodecError) -> Int {
            if let known = index[name] { return known }
            guard depth < maximumNestingDepth else {
                throw CodecError("ROS 2 message types nested deeper than \(maximumNestingDepth) at \(name)", at: 0)
            }
            guard !inProgress.contains(name) else {
                throw CodecError("ROS 2 message type \(name) contains itself", at: 0)
            }
            let section: (text: Substring, package: String)
            if let own = sections[name] {
                section = own
            } else if let common = ROS2CommonInterfaces.definitions[name] {
                section = (Substring(common), String(name.split(separator: "/").first ?? ""))
            } else {
                throw CodecError("ROS 2 message type \(name) is not defined in the schema", at: 0)
            }
            inProgress.insert(name)
            defer { inProgress.remove(name) }
            var fields: [Field] = []
            var minimum = 0
            var lineNumber = 0
            for rawLine in section.text.split(separator: "\n", omittingEmptySubsequences: false) {
                lineNumber += 1
                var line = rawLine
                if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
                let tokens = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
                guard tokens.count >= 2 else {
                    if tokens.count == 1 {
                        throw CodecError("\(name) line \(lineNumber): '\(tokens[0])' has no field name", at: 0)
                    }
                    continue
                }
                // A constant: `TYPE NAME=VALUE` or `TYPE NAME = VALUE`.
                if tokens[1].contains("=") || (tokens.count >= 3 && tokens[2].hasPrefix("=")) { continue }
                let (element, multiplicity) = try parseType(tokens[0], in: section.package, owner: name,
                                                            line: lineNumber, depth: depth)
                let fieldName = String(tokens[1])
                fields.append(Field(name: fieldName, type: element, multiplicity: multiplicity))
                let elementSize: Int
                switch element {
                case .primitive(let p, _): elementSize = p.size
                case .message(let t): elementSize = types[t].minimumSize
                }
                switch multiplicity {
                case .single: minimum = minimum.addingSaturating(elementSize)
                case .array(let n): minimum = minimum.addingSaturating(n.multipliedSaturating(elementSize))
                case .sequence: minimum = minimum.addingSaturating(4)
                }
            }
            // An empty message still takes one byte: rosidl adds `uint8 structure_needs_at_least_one_field`.
            let id = types.count
            types.append(MessageType(name: name, fields: fields, minimumSize: fields.isEmpty ? 1 : minimum))
            index[name] = id
            return id
        }

        mutating func parseType(_ token: Substring, in package: String, owner: String, line: Int,
                                depth: Int) throws(CodecError) -> (ElementType, Multiplicity) {
            func bad(_ why: String) -> CodecError { CodecError("\(owner) line \(line): \(why) in '\(token)'", at: 0) }
            var base = token
            var multiplicity = Multiplicity.single
            if let open = token.firstIndex(of: "["), token.last == "]" {
                base = token[..<open]
                let inside = token[token.index(after: open)..<token.index(before: token.endIndex)]
                if inside.isEmpty {
                    multiplicity = .sequence(bound: nil)
                } else if inside.hasPrefix("<=") {
                    guard let n = Int(inside.dropFirst(2)), n >= 0 else { throw bad("bad sequence bound") }
                    multiplicity = .sequence(bound: n)
                } else {
                    guard let n = Int(inside), n >= 0 else { throw bad("bad array length") }
                    guard n <= ROS2MessageSchema.maximumArrayLength else {
                        throw bad("array longer than \(ROS2MessageSchema.maximumArrayLength)")
                    }
                    multiplicity = .array(n)
                }
            }
            var stringBound: Int?
            if let less = base.firstIndex(of: "<") {
                let bound = base[base.index(after: less)...]
                guard bound.first == "=", let n = Int(bound.dropFirst()), n >= 0 else { throw bad("bad string bound") }
                stringBound = n
                base = base[..<less]
            }
            if let p = Primitive(rawValue: String(base)) {
                if stringBound != nil && p != .string && p != .wstring { throw bad("only strings take a bound") }
                return (.primitive(p, stringBound: stringBound), multiplicity)
            }
            // ROS 2 aliases kept from ROS 1 .msg files.
            if base == "time" || base == "duration" {
                return (.message(try compile(base == "time" ? "builtin_interfaces/Time" : "builtin_interfaces/Duration",
                                             depth: depth + 1)), multiplicity)
            }
            let parts = base.split(separator: "/")
            let target: String
            switch parts.count {
            case 1: target = base == "Header" ? "std_msgs/Header" : "\(package)/\(base)"
            case 2: target = String(base)
            case 3 where parts[1] == "msg": target = "\(parts[0])/\(parts[2])"
            default: throw bad("not a type name")
            }
            return (.message(try compile(target, depth: depth + 1)), multiplicity)
        }
    }
}

private extension Int {
    func addingSaturating(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
    func multipliedSaturating(_ other: Int) -> Int {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? .max : product
    }
}

private extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return s
    }
}
