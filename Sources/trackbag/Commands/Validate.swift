import ArgumentParser

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "validate", abstract: "(not built yet)")
    func run() async throws {
        throw ValidationError("'trackbag validate' is not built yet")
    }
}
