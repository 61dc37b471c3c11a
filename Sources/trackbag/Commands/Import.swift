import ArgumentParser

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "(not built yet)")
    func run() async throws {
        throw ValidationError("'trackbag import' is not built yet")
    }
}
