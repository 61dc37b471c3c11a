import ArgumentParser

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "(not built yet)")
    func run() async throws {
        throw ValidationError("'trackbag token' is not built yet")
    }
}
