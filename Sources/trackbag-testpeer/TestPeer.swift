import ArgumentParser

/// `trackbag-testpeer`: the peers and tools the interop tests and benchmarks drive, kept out of
/// the product binary. Each subcommand reads commands and writes JSON lines so a Python driver
/// can steer it beside LiveKit's official SDK, aiortc or the `mcap` library.
@main
struct TestPeer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trackbag-testpeer",
        abstract: "Test peers and tools for trackbag's interop tests and benchmarks (not for users).",
        subcommands: [RoomPeer.self, WebRTCPeer.self, WriteForever.self, JoinRequestDecode.self, MCAPTool.self]
    )
}
