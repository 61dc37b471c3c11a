import ArgumentParser
import Foundation
import LiveKitProtocol

/// `trackbag token`: issues (default) or checks LiveKit access tokens.
struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Issue or verify LiveKit access tokens (JWT).",
        discussion: "The defaults match `trackbag serve` and `livekit-server --dev` (devkey: secret).",
        subcommands: [TokenIssue.self, TokenVerify.self],
        defaultSubcommand: TokenIssue.self
    )
}

/// `trackbag token [issue]`: prints an access token as LiveKit's own tooling would issue it
/// (HS256, `iss` key, `sub` identity, `nbf`/`exp`, a `video` grant to join one room).
struct TokenIssue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Print a LiveKit access token for joining a room."
    )

    @Option(help: "Participant identity (the token's `sub`).") var identity: String
    @Option(help: "Room the token may join.") var room: String
    @Option(help: "API key (the token's `iss`).") var apiKey: String = "devkey"
    @Option(help: "API secret that signs the token.") var apiSecret: String = "secret"
    @Option(help: "Validity, e.g. 6h, 30m, 90s, 1h30m.", transform: TokenLifetime.parse) var ttl: Duration = .seconds(6 * 3600)
    @Option(help: "Display name of the participant.") var name: String?
    @Option(help: "Participant metadata.") var metadata: String?
    @Flag(help: "Deny publishing tracks (data tracks too, unless data is granted separately).") var noPublish = false
    @Flag(help: "Deny publishing data tracks and data packets.") var noPublishData = false
    @Flag(help: "Deny subscribing.") var noSubscribe = false

    func validate() throws {
        guard !identity.isEmpty else { throw ValidationError("--identity must not be empty") }
        guard !room.isEmpty else { throw ValidationError("--room must not be empty") }
        guard !apiKey.isEmpty, !apiSecret.isEmpty else { throw ValidationError("--api-key and --api-secret must not be empty") }
        guard ttl > .zero else { throw ValidationError("--ttl must be positive") }
    }

    func run() async throws {
        // Only what differs from LiveKit's defaults goes into the grant, as LiveKit's CLI does:
        // a missing canPublish/canSubscribe means yes, a missing canPublishData follows canPublish.
        var grant = VideoGrant(roomJoin: true, room: room)
        if noPublish { grant.canPublish = false }
        if noPublishData { grant.canPublishData = false }
        if noSubscribe { grant.canSubscribe = false }
        let claims = AccessTokenClaims(apiKey: apiKey, identity: identity, video: grant, ttl: ttl,
                                       name: name, metadata: metadata)
        print(try AccessToken.sign(claims, secret: apiSecret))
    }
}

/// `trackbag token verify TOKEN`: checks a token as `trackbag serve` does and prints its claims
/// as JSON; on failure prints the reason and exits with status 1.
struct TokenVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a token's signature and times; print its claims as JSON."
    )

    @Argument(help: "The token.") var token: String
    @Option(name: .customLong("keys"), help: "API key and secret as KEY:SECRET (repeatable).")
    var keyPairs: [String] = ["devkey:secret"]
    @Option(help: "Allowed clock skew on exp and nbf.", transform: TokenLifetime.parse) var leeway: Duration = AccessToken.defaultLeeway

    func run() async throws {
        var keys: [String: String] = [:]
        for pair in keyPairs {
            guard let colon = pair.firstIndex(of: ":") else { throw ValidationError("--keys '\(pair)': expected KEY:SECRET") }
            keys[String(pair[..<colon])] = String(pair[pair.index(after: colon)...])
        }
        let claims: AccessTokenClaims
        do {
            claims = try AccessToken.verify(token, keys: keys, leeway: leeway)
        } catch {
            FileHandle.standardError.write(Data("token rejected: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let grant = claims.video ?? VideoGrant()
        let report = VerifiedToken(
            apiKey: claims.apiKey, identity: claims.identity, name: claims.name, metadata: claims.metadata,
            notBefore: claims.notBefore, expiry: claims.expiry, video: claims.video,
            allows: .init(publish: grant.allowsPublish, subscribe: grant.allowsSubscribe,
                          publishData: grant.allowsPublishData, updateOwnMetadata: grant.allowsUpdateOwnMetadata))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    }

    /// What `verify` prints: the claims plus the permissions they amount to.
    private struct VerifiedToken: Encodable {
        struct Allows: Encodable { var publish, subscribe, publishData, updateOwnMetadata: Bool }
        var apiKey, identity: String
        var name, metadata: String?
        var notBefore, expiry: Int64?
        var video: VideoGrant?
        var allows: Allows
    }
}

/// Durations written as Go does for LiveKit's CLI: `6h`, `30m`, `45s`, `1h30m`; a bare number is seconds.
enum TokenLifetime {
    static func parse(_ text: String) throws -> Duration {
        if let seconds = Int64(text) { return .seconds(seconds) }
        var total: Int64 = 0
        var number = ""
        for character in text {
            if character.isASCII, character.isNumber {
                number.append(character)
                continue
            }
            let unit: Int64
            switch character {
            case "h": unit = 3600
            case "m": unit = 60
            case "s": unit = 1
            case "d": unit = 86_400
            default: throw ValidationError("--ttl '\(text)': unknown unit '\(character)' (use h, m, s or d)")
            }
            guard let value = Int64(number) else { throw ValidationError("--ttl '\(text)': a number must come before '\(character)'") }
            let (product, overflow) = value.multipliedReportingOverflow(by: unit)
            guard !overflow, total <= Int64.max - product else { throw ValidationError("--ttl '\(text)' is too long") }
            total += product
            number = ""
        }
        guard number.isEmpty, !text.isEmpty else { throw ValidationError("--ttl '\(text)': expected e.g. 6h, 30m or 90s") }
        return .seconds(total)
    }
}
