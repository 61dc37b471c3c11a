import ArgumentParser

struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "doctor", abstract: "(not built yet)")
    func run() async throws {
        throw ValidationError("'trackbag doctor' is not built yet")
    }
}
