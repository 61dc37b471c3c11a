import Foundation
import Codecs
import TrackModel

/// Users' schema files, by the ids tracks name them with (schema name + encoding), so a track
/// that declares only a schema name (a LiveKit track does) decodes (docs/schemas.md):
///
/// - `*.desc`, `*.binpb`: a serialized protobuf `FileDescriptorSet` (`protoc --include_imports
///   --descriptor_set_out=…`); every message type in it is a `protobuf` schema of that full
///   name, whose data is the whole set, as MCAP stores it.
/// - `PACKAGE/msg/TYPE.msg`: a ROS 2 message definition, schema `PACKAGE/msg/TYPE` in
///   `ros2msg`; its data is the definition bundled with every type it uses, MCAP-style.
/// - `*.json` holding a JSON object: a JSON Schema, named by its `title` or else the file name
///   without `.schema.json`/`.json`, encoding `jsonschema`.
///
/// Folders are searched in order, recursively; the first definition of an id wins and later
/// ones are reported. Unreadable or malformed files are reported, never fatal.
public struct SchemaRegistry: Sendable {
    public struct Entry: Sendable {
        public var schema: SchemaInfo
        /// The file it came from.
        public var source: String
    }

    public private(set) var entries: [Entry] = []
    /// Files skipped and ids defined twice, one line each (`path: why`).
    public private(set) var problems: [String] = []
    private var index: [String: Int] = [:]

    /// Read by default when it exists, relative to the working directory.
    public static let defaultDirectory = "schemas"
    /// Larger files are skipped: schemas are kilobytes, and a registry folder may hold anything.
    public static let maximumFileBytes = 64 << 20
    /// Files looked at per folder tree, so a huge tree cannot stall the first decode.
    public static let maximumFiles = 100_000

    public init() {}

    /// Reads `schemas/` (when present and `includeDefault`) and then `directories`.
    public static func load(directories: [String], includeDefault: Bool = true) -> SchemaRegistry {
        var registry = SchemaRegistry()
        var folders = directories
        var isFolder: ObjCBool = false
        if includeDefault, FileManager.default.fileExists(atPath: defaultDirectory, isDirectory: &isFolder), isFolder.boolValue,
           !folders.contains(where: { URL(fileURLWithPath: $0).standardized.path == URL(fileURLWithPath: defaultDirectory).standardized.path }) {
            folders.insert(defaultDirectory, at: 0)
        }
        for folder in folders { registry.load(folder: folder) }
        return registry
    }

    private static func key(name: String, encoding: String) -> String {
        var n = name
        if encoding == "protobuf", n.hasPrefix(".") { n.removeFirst() }
        if encoding == "ros2msg" || encoding == "ros2idl" {
            let parts = n.split(separator: "/")
            if parts.count == 2 { n = "\(parts[0])/msg/\(parts[1])" }
        }
        return encoding + "\u{0}" + n
    }

    /// The definition of a schema id: from the folders, else (`ros2msg`) a common ROS 2 interface.
    public func resolve(name: String, encoding: String) -> SchemaInfo? {
        if let i = index[Self.key(name: name, encoding: encoding)] { return entries[i].schema }
        if encoding == "ros2msg", let text = try? ROS2MessageSchema.bundledDefinition(of: name, definitions: [:]) {
            return SchemaInfo(name: name, encoding: encoding, data: Array(text.utf8))
        }
        return nil
    }

    private mutating func add(_ schema: SchemaInfo, from source: String) {
        let key = Self.key(name: schema.name, encoding: schema.encoding)
        if let existing = index[key] {
            problems.append("\(source): \(schema.encoding) schema \(schema.name) is already defined by \(entries[existing].source); ignored")
            return
        }
        index[key] = entries.count
        entries.append(Entry(schema: schema, source: source))
    }

    private mutating func load(folder: String) {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            problems.append("\(folder): not a folder")
            return
        }
        guard let walker = FileManager.default.enumerator(atPath: folder) else {
            problems.append("\(folder): cannot be listed")
            return
        }
        var files: [String] = []
        while let relative = walker.nextObject() as? String {
            if relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
            files.append(relative)
            if files.count >= Self.maximumFiles {
                problems.append("\(folder): more than \(Self.maximumFiles) files; the rest are not read")
                break
            }
        }
        files.sort()
        var messageDefinitions: [(name: String, path: String, text: String)] = []
        for relative in files {
            let path = folder.hasSuffix("/") ? folder + relative : folder + "/" + relative
            let lower = relative.lowercased()
            let isDescriptorSet = lower.hasSuffix(".desc") || lower.hasSuffix(".binpb")
            let isMessage = lower.hasSuffix(".msg")
            let isJSON = lower.hasSuffix(".json")
            guard isDescriptorSet || isMessage || isJSON else { continue }
            guard let bytes = Self.read(path) else {
                problems.append("\(path): unreadable or larger than \(Self.maximumFileBytes) bytes")
                continue
            }
            if isDescriptorSet {
                do {
                    let set = try ProtobufSchema(fileDescriptorSet: bytes)
                    for name in set.messageNames {
                        add(SchemaInfo(name: name, encoding: "protobuf", data: bytes), from: path)
                    }
                } catch {
                    problems.append("\(path): not a FileDescriptorSet: \(error)")
                }
            } else if isMessage {
                let parts = relative.split(separator: "/")
                guard parts.count >= 3, parts[parts.count - 2] == "msg" else {
                    problems.append("\(path): a .msg file belongs in PACKAGE/msg/")
                    continue
                }
                guard let text = String(bytes: bytes, encoding: .utf8) else {
                    problems.append("\(path): not UTF-8 text")
                    continue
                }
                let type = String(parts[parts.count - 1].dropLast(4))
                messageDefinitions.append(("\(parts[parts.count - 3])/msg/\(type)", path, text))
            } else if isJSON {
                guard case .object = (try? JSONText.parse(bytes)) ?? .null else { continue }
                let value = try? JSONText.parse(bytes)
                var name = (relative as NSString).lastPathComponent
                for suffix in [".schema.json", ".json"] where name.lowercased().hasSuffix(suffix) {
                    name = String(name.dropLast(suffix.count))
                    break
                }
                if case .string(let title)? = value?["title"], !title.isEmpty { name = title }
                add(SchemaInfo(name: name, encoding: "jsonschema", data: bytes), from: path)
            }
        }
        // .msg files: bundled once every file of the folder is known, so types used across
        // packages resolve; types from earlier folders count too.
        var known: [String: String] = [:]
        for entry in entries where entry.schema.encoding == "ros2msg" {
            // Earlier folders' bundled text starts with the type's own definition, up to the first separator.
            let text = String(decoding: entry.schema.data, as: UTF8.self)
            known[entry.schema.name] = text.components(separatedBy: "\n" + String(repeating: "=", count: 80)).first ?? text
        }
        for definition in messageDefinitions where known[definition.name] == nil { known[definition.name] = definition.text }
        for definition in messageDefinitions {
            do {
                let bundled = try ROS2MessageSchema.bundledDefinition(of: definition.name, definitions: known)
                add(SchemaInfo(name: definition.name, encoding: "ros2msg", data: Array(bundled.utf8)), from: definition.path)
            } catch {
                problems.append("\(definition.path): \(error)")
            }
        }
    }

    private static func read(_ path: String) -> [UInt8]? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? NSNumber, size.intValue <= maximumFileBytes,
              let data = FileManager.default.contents(atPath: path) else { return nil }
        return [UInt8](data)
    }
}
