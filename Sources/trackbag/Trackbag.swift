import ArgumentParser

/// `trackbag`: record, replay and pipe LiveKit data tracks (README.md).
@main
struct Trackbag: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trackbag",
        abstract: "Record, replay and pipe LiveKit data tracks.",
        subcommands: [
            Record.self, Play.self, Run.self, Validate.self, Info.self, Export.self, Import.self, Doctor.self,
            Token.self, Demo.self, Serve.self, Snapshot.self, Schemas.self,
        ]
    )
}
