import Foundation
import Pipeline

/// Where a rosbag2 bag's messages are: its storage files in reading order, and what its
/// `metadata.yaml` says about its topics (docs/rosbag2.md).
///
/// A bag is a directory holding `metadata.yaml` (`rosbag2_bagfile_information`: `version`,
/// `storage_identifier`, `relative_file_paths`, `topics_with_message_count`, `compression_*`)
/// and the storage files it lists, one per split, in recording order. A storage file given on
/// its own (`*.db3`, `*.mcap`) is a bag of one file without metadata.
public struct Rosbag2Layout: Sendable, Hashable {
    /// The storage plugins whose files we read.
    public enum Storage: String, Sendable, Hashable {
        case sqlite3, mcap
    }

    public struct StorageFile: Sendable, Hashable {
        public var path: String
        public var storage: Storage
    }

    /// A topic as `metadata.yaml` lists it.
    public struct Topic: Sendable, Hashable {
        public var name: String
        public var type: String
        public var serializationFormat: String
        public var offeredQoSProfiles: String
        public var messageCount: Int?
    }

    /// The storage files, in the order their messages are read.
    public var files: [StorageFile]
    /// `metadata.yaml`, when the bag has one.
    public var metadataPath: String?
    /// `version` of `metadata.yaml` (8 and later: storage files hold message definitions).
    public var version: Int?
    /// The topics `metadata.yaml` lists; empty without one.
    public var topics: [Topic]
    /// `message_count` of `metadata.yaml`.
    public var messageCount: Int?
    /// Each message's data is a zstd frame (`compression_mode: MESSAGE`, `compression_format:
    /// zstd`); a storage file given alone is taken as uncompressed.
    public var messagesCompressed = false

    /// The bag at `path`: a bag directory, its `metadata.yaml`, or one storage file.
    public static func resolve(path: String) throws -> Rosbag2Layout {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PipelineError(message: "no such file or directory", file: path)
        }
        if isDirectory.boolValue {
            let metadata = (path as NSString).appendingPathComponent("metadata.yaml")
            guard FileManager.default.fileExists(atPath: metadata) else {
                throw PipelineError(message: "a directory without metadata.yaml is not a rosbag2 bag "
                                    + "(give a .db3 or .mcap storage file itself to read it alone)", file: path)
            }
            return try fromMetadata(at: metadata)
        }
        let name = (path as NSString).lastPathComponent
        if name == "metadata.yaml" { return try fromMetadata(at: path) }
        if let storage = storage(ofFile: name) {
            return Rosbag2Layout(files: [StorageFile(path: path, storage: storage)], metadataPath: nil, version: nil,
                                 topics: [], messageCount: nil)
        }
        if name.hasSuffix(".zstd") {
            throw PipelineError(message: Self.compressedFileRefusal, file: path)
        }
        throw PipelineError(message: "not a rosbag2 bag: expected a bag directory, its metadata.yaml, a .db3 or a .mcap file",
                            file: path)
    }

    /// True when `path` looks like a rosbag2 bag (what `trackbag import` checks before reading).
    public static func looksLikeBag(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return true }
        let name = (path as NSString).lastPathComponent
        return name == "metadata.yaml" || name.hasSuffix(".db3") || name.hasSuffix(".db3.zstd")
    }

    static let compressedFileRefusal = "compressed rosbag2 storage (compression_mode FILE) is not read: "
        + "decompress the files first (zstd -d) and give the .db3 or .mcap files, or a metadata.yaml without compression"

    static func storage(ofFile name: String) -> Storage? {
        if name.hasSuffix(".db3") { return .sqlite3 }
        if name.hasSuffix(".mcap") { return .mcap }
        return nil
    }

    static func fromMetadata(at path: String) throws -> Rosbag2Layout {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw PipelineError(message: "cannot read: \(error.localizedDescription)", file: path)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PipelineError(message: "not UTF-8 text, so not a rosbag2 metadata.yaml", file: path)
        }
        return try parse(metadata: text, file: path,
                         directory: (path as NSString).deletingLastPathComponent)
    }

    /// Reads `metadata.yaml` text. Every problem names the file and, where there is one, the
    /// line and column.
    static func parse(metadata text: String, file: String, directory: String) throws -> Rosbag2Layout {
        guard text.contains(where: { !$0.isWhitespace }) else {
            throw PipelineError(message: "empty: not a rosbag2 metadata.yaml", file: file)
        }
        let root = try ConfigNode.parse(text, file: file)
        func fail(_ message: String, _ node: ConfigNode?) -> PipelineError {
            PipelineError(message: message, file: file, line: node?.position.line, column: node?.position.column)
        }
        guard let info = root["rosbag2_bagfile_information"], info.mappingMembers != nil else {
            throw fail("no rosbag2_bagfile_information map: not a rosbag2 metadata.yaml, or cut short", root)
        }
        let version = info["version"]?.scalarText.flatMap { Int($0) }
        let identifier = info["storage_identifier"]?.scalarText
        if let identifier, Storage(rawValue: identifier) == nil {
            throw fail("storage_identifier '\(identifier)' is not read (sqlite3 and mcap are)", info["storage_identifier"])
        }
        // compression_mode FILE compresses each storage file whole, MESSAGE each message's data
        // (rosbag2_compression; zstd is the only format it ships).
        let format = info["compression_format"]?.scalarText ?? ""
        let mode = (info["compression_mode"]?.scalarText ?? "").uppercased()
        var messagesCompressed = false
        if !format.isEmpty && !["", "NONE"].contains(mode) {
            if mode == "FILE" { throw fail(compressedFileRefusal, info["compression_mode"]) }
            guard mode == "MESSAGE", format == "zstd" else {
                throw fail("compression_mode \(mode) with compression_format \(format) is not read "
                           + "(per-message zstd is): decompress with `ros2 bag convert` first", info["compression_mode"])
            }
            messagesCompressed = true
        }
        guard let pathsNode = info["relative_file_paths"] else {
            throw fail("rosbag2_bagfile_information has no relative_file_paths (is the file cut short?)", info)
        }
        guard case .sequence(let pathNodes) = pathsNode.content else {
            throw fail("relative_file_paths: expected a list of file names, found \(pathsNode.typeName)", pathsNode)
        }
        guard !pathNodes.isEmpty else {
            throw fail("relative_file_paths is empty: the bag lists no storage file", pathsNode)
        }
        var files: [StorageFile] = []
        for node in pathNodes {
            guard let relative = node.scalarText, !relative.isEmpty else {
                throw fail("relative_file_paths: expected a file name, found \(node.typeName)", node)
            }
            let full = relative.hasPrefix("/") ? relative : (directory as NSString).appendingPathComponent(relative)
            guard FileManager.default.fileExists(atPath: full) else {
                throw fail("lists \(relative), which is not in \(directory)", node)
            }
            let name = (relative as NSString).lastPathComponent
            if name.hasSuffix(".zstd") { throw fail(compressedFileRefusal, node) }
            guard let storage = storage(ofFile: name) ?? identifier.flatMap(Storage.init(rawValue:)) else {
                throw fail("cannot tell the storage of \(relative) (neither .db3 nor .mcap, and no storage_identifier)", node)
            }
            files.append(StorageFile(path: full, storage: storage))
        }
        var topics: [Topic] = []
        if let list = info["topics_with_message_count"], case .sequence(let entries) = list.content {
            for entry in entries {
                guard let meta = entry["topic_metadata"], let name = meta["name"]?.scalarText else {
                    throw fail("topics_with_message_count: an entry without topic_metadata.name", entry)
                }
                topics.append(Topic(name: name, type: meta["type"]?.scalarText ?? "",
                                    serializationFormat: meta["serialization_format"]?.scalarText ?? "",
                                    offeredQoSProfiles: meta["offered_qos_profiles"]?.scalarText ?? "",
                                    messageCount: entry["message_count"]?.scalarText.flatMap { Int($0) }))
            }
        }
        return Rosbag2Layout(files: files, metadataPath: file, version: version, topics: topics,
                             messageCount: info["message_count"]?.scalarText.flatMap { Int($0) },
                             messagesCompressed: messagesCompressed)
    }
}
