import ArgumentParser

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "(not built yet)")
    func run() async throws {
        throw ValidationError("'trackbag export' is not built yet")
    }
}
