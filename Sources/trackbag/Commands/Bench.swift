import ArgumentParser

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "(not built yet)")
    func run() async throws {
        throw ValidationError("'trackbag bench' is not built yet")
    }
}
