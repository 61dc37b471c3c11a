import ArgumentParser

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "(not built yet)")
    func run() async throws {
        throw ValidationError("'trackbag run' is not built yet")
    }
}
