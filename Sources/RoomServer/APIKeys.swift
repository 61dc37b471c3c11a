import Foundation

/// Where `trackbag serve` gets its API keys (key → secret), as livekit-server does
/// (`cmd/server/main.go`, `pkg/config/config.go` `ValidateKeys`, `unmarshalKeys`):
/// - `--key-file PATH`: a YAML mapping, one `KEY: SECRET` per line; the file must not be
///   readable, writable or executable by others (mode `o-rwx`), or it is refused;
/// - `--keys` or the `LIVEKIT_KEYS` environment variable: `KEY: SECRET` entries separated by
///   commas or newlines;
/// - none of these: the development key `devkey: secret` (`livekit-server --dev`), but only
///   when signaling listens on a loopback address, unless `--dev` asks for it anywhere.
/// Secrets are never printed; `description` names the keys only.
public struct APIKeys: Equatable, Sendable, CustomStringConvertible {
    public var secrets: [String: String]
    /// Where they came from, for the startup line.
    public var origin: String

    /// The development key of `livekit-server --dev` and the SDK examples.
    public static let development = APIKeys(secrets: ["devkey": "secret"], origin: "the development key")

    /// livekit-server warns about shorter secrets outside development mode.
    public static let recommendedSecretLength = 32

    public var description: String {
        secrets.keys.sorted().joined(separator: ", ") + " (\(origin))"
    }

    /// Keys whose secret is shorter than `recommendedSecretLength`.
    public var shortSecretKeys: [String] {
        secrets.filter { $0.value.utf8.count < Self.recommendedSecretLength }.keys.sorted()
    }

    /// Picks the keys for a server listening on `host`. `keyFile` wins over `keys`, `keys` over
    /// `environment["LIVEKIT_KEYS"]`; giving a key file and `--keys` together is refused as
    /// ambiguous. Without any, the development key on a loopback `host`, or anywhere with `dev`.
    public static func resolve(keys: [String], keyFile: String?, environment: [String: String], host: String,
                               dev: Bool) throws(RoomServerError) -> APIKeys {
        if keyFile != nil && !keys.isEmpty {
            throw .badConfiguration("give --key-file or --keys, not both")
        }
        if let keyFile {
            return APIKeys(secrets: try load(file: keyFile), origin: "from \(keyFile)")
        }
        if !keys.isEmpty {
            var secrets: [String: String] = [:]
            for (index, entry) in keys.enumerated() {
                for (key, secret) in try parseList(entry, source: "--keys #\(index + 1)") {
                    guard secrets[key] == nil else { throw .badConfiguration("--keys: key \(key) given twice") }
                    secrets[key] = secret
                }
            }
            return APIKeys(secrets: secrets, origin: "from --keys")
        }
        if let text = environment["LIVEKIT_KEYS"], !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            return APIKeys(secrets: try parseList(text, source: "LIVEKIT_KEYS"), origin: "from LIVEKIT_KEYS")
        }
        guard dev || isLoopback(host: host) else {
            throw .badConfiguration("no API keys for --host \(host): give --key-file, --keys or LIVEKIT_KEYS "
                                    + "(the development key devkey is only used on a loopback address, or with --dev)")
        }
        return development
    }

    /// Whether signaling on `host` is reachable from this machine only.
    public static func isLoopback(host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare == "::1" { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// `KEY: SECRET` entries separated by commas or newlines (`--keys`, `LIVEKIT_KEYS`); the
    /// space after the colon is optional. A secret cannot contain a comma here (use a key file).
    public static func parseList(_ text: String, source: String) throws(RoomServerError) -> [String: String] {
        var secrets: [String: String] = [:]
        let entries = text.split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == "\r" })
        for (index, raw) in entries.enumerated() {
            let entry = raw.trimmingCharacters(in: .whitespaces)
            if entry.isEmpty { continue }
            guard let colon = entry.firstIndex(of: ":") else {
                throw .badConfiguration("\(source): entry \(index + 1) is not KEY: SECRET")
            }
            let key = entry[..<colon].trimmingCharacters(in: .whitespaces)
            let secret = entry[entry.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, !secret.isEmpty else {
                throw .badConfiguration("\(source): entry \(index + 1): key and secret must not be empty")
            }
            guard secrets[key] == nil else { throw .badConfiguration("\(source): key \(key) given twice") }
            secrets[key] = secret
        }
        guard !secrets.isEmpty else { throw .badConfiguration("\(source): no KEY: SECRET entry") }
        return secrets
    }

    /// A key file's text: the YAML subset LiveKit's key files use, one `KEY: SECRET` mapping
    /// entry per line, blank lines, `#` comments and a leading `---`; a value may be quoted
    /// ('…' or "…"). Anything else is refused with its line number.
    public static func parseFile(_ text: String, path: String) throws(RoomServerError) -> [String: String] {
        var secrets: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let where_ = "\(path):\(index + 1)"
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || (trimmed == "---" && secrets.isEmpty) { continue }
            guard line.first != " ", line.first != "\t" else {
                throw .badConfiguration("\(where_): expected KEY: SECRET at the start of the line (nested YAML is not a key list)")
            }
            guard let colon = line.firstIndex(of: ":") else {
                throw .badConfiguration("\(where_): expected KEY: SECRET")
            }
            let key = unquote(line[..<colon].trimmingCharacters(in: .whitespaces))
            var value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if !(value.hasPrefix("\"") || value.hasPrefix("'")), let comment = value.range(of: " #") {
                value = String(value[..<comment.lowerBound]).trimmingCharacters(in: .whitespaces)
            }
            guard let secret = unquote(value), let key, !key.isEmpty, !secret.isEmpty else {
                throw .badConfiguration("\(where_): expected KEY: SECRET with a non-empty key and secret")
            }
            guard secrets[key] == nil else { throw .badConfiguration("\(where_): key \(key) given twice") }
            secrets[key] = secret
        }
        guard !secrets.isEmpty else { throw .badConfiguration("\(path): no KEY: SECRET entry") }
        return secrets
    }

    /// A plain or quoted YAML scalar; nil when a quote is not closed.
    private static func unquote(_ text: String) -> String? {
        guard let first = text.first, first == "\"" || first == "'" else { return text }
        guard text.count >= 2, text.last == first else { return nil }
        return String(text.dropFirst().dropLast())
    }

    /// Reads and checks a key file (livekit-server `ValidateKeys`: a file others may access is
    /// refused).
    public static func load(file path: String) throws(RoomServerError) -> [String: String] {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw .badConfiguration("--key-file \(path): cannot read it (\(error.localizedDescription))")
        }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0
        guard mode & 0o007 == 0 else {
            throw .badConfiguration("--key-file \(path): others may access it (mode \(String(mode, radix: 8))); "
                                    + "remove their permissions, e.g. chmod 600")
        }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= 1 << 20 else {
            throw .badConfiguration("--key-file \(path): \(size) bytes, more than a key list (1 MiB at most)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .badConfiguration("--key-file \(path): cannot read it")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .badConfiguration("--key-file \(path): not UTF-8 text")
        }
        return try parseFile(text, path: path)
    }
}
