import ArgumentParser
import LiveKitProtocol
import SwiftProtobuf

/// `trackbag join-request VALUE` (hidden, for debugging clients and for interop tests): decodes a
/// `/rtc/v1?join_request=` value as `trackbag serve` does and prints the `JoinRequest` as JSON
/// with proto field names; a malformed value prints the failing stage and exits 1.
struct JoinRequestDecode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join-request",
        abstract: "Decode a /rtc/v1 join_request query value and print it as JSON."
    )

    @Argument(help: "The join_request value, percent-decoded.") var value: String

    func run() async throws {
        let request: Livekit_JoinRequest
        do {
            request = try JoinRequestQuery.decode(value)
        } catch {
            print("join_request rejected: \(error)")
            throw ExitCode(1)
        }
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        print(try request.jsonString(options: options))
    }
}
