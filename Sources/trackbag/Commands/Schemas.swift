import ArgumentParser
import Foundation
import Stages

/// `trackbag schemas`: what the schema registry knows (docs/schemas.md): each schema id, its
/// size and the file it came from, then any file that was skipped and why.
struct Schemas: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schemas",
        abstract: "List the schemas the registry knows (schemas/ and --schemas folders) and where each came from.")

    @Option(name: .customLong("schemas"), help: "A folder of schema files, read after schemas/ (repeatable).")
    var folders: [String] = []

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let registry = SchemaRegistry.load(directories: folders)
        if json {
            struct Row: Encodable { var name: String; var encoding: String; var bytes: Int; var source: String }
            struct Listing: Encodable { var schemas: [Row]; var problems: [String] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let listing = Listing(schemas: registry.entries.map {
                Row(name: $0.schema.name, encoding: $0.schema.encoding, bytes: $0.schema.data.count, source: $0.source)
            }, problems: registry.problems)
            print(String(decoding: try encoder.encode(listing), as: UTF8.self))
            return
        }
        if registry.entries.isEmpty {
            print("no schemas (looked in \(([SchemaRegistry.defaultDirectory] + folders).joined(separator: ", ")))")
        }
        let width = registry.entries.map(\.schema.name.count).max() ?? 0
        for entry in registry.entries {
            let name = entry.schema.name.padding(toLength: max(width, entry.schema.name.count), withPad: " ", startingAt: 0)
            let encoding = entry.schema.encoding.padding(toLength: 10, withPad: " ", startingAt: 0)
            print("\(name)  \(encoding)  \(String(entry.schema.data.count).leftPadded(8)) bytes  \(entry.source)")
        }
        for problem in registry.problems {
            FileHandle.standardError.write(Data(("warning: " + problem + "\n").utf8))
        }
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
