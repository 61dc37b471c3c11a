import ArgumentParser

struct Info: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "(not built yet)")
    func run() async throws {
        throw ValidationError("'trackbag info' is not built yet")
    }
}
