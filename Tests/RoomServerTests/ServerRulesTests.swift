import Foundation
import LiveKitProtocol
import XCTest
@testable import RoomServer

/// The pure rules of the server: metadata updates and where API keys come from.
final class ServerRulesTests: XCTestCase {
    // MARK: - UpdateParticipantMetadata

    func testMetadataUpdateTable() {
        var base = Livekit_ParticipantInfo()
        base.name = "Robot"
        base.metadata = "signed"
        base.attributes = ["fixed": "1", "t": "0"]
        func update(name: String = "", metadata: String = "", attributes: [String: String] = [:]) -> Livekit_UpdateParticipantMetadata {
            var update = Livekit_UpdateParticipantMetadata()
            update.name = name
            update.metadata = metadata
            update.attributes = attributes
            return update
        }
        let big = String(repeating: "x", count: 40 * 1024)
        let cases: [(String, Livekit_UpdateParticipantMetadata, Bool, Livekit_RequestResponse.Reason, Bool, String, String, [String: String])] = [
            ("no grant", update(name: "X"), false, .notAllowed, false, "Robot", "signed", ["fixed": "1", "t": "0"]),
            ("name too long", update(name: String(repeating: "n", count: 257)), true, .limitExceeded, false,
             "Robot", "signed", ["fixed": "1", "t": "0"]),
            ("metadata too big", update(metadata: String(repeating: "m", count: 512 * 1024 + 1)), true, .limitExceeded, false,
             "Robot", "signed", ["fixed": "1", "t": "0"]),
            ("request attributes too big", update(attributes: ["a": big, "b": big]), true, .limitExceeded, false,
             "Robot", "signed", ["fixed": "1", "t": "0"]),
            ("empty fields keep", update(), true, .ok, false, "Robot", "signed", ["fixed": "1", "t": "0"]),
            ("set and delete", update(name: "R2", metadata: "m2", attributes: ["t": "", "new": "v"]), true, .ok, true,
             "R2", "m2", ["fixed": "1", "new": "v"]),
            ("same values", update(name: "Robot", metadata: "signed", attributes: ["t": "0"]), true, .ok, false,
             "Robot", "signed", ["fixed": "1", "t": "0"]),
        ]
        for (label, request, granted, reason, changed, name, metadata, attributes) in cases {
            var info = base
            let outcome = ParticipantMetadataUpdate.apply(request, to: &info, canUpdateOwnMetadata: granted)
            XCTAssertEqual(outcome.reason, reason, label)
            XCTAssertEqual(outcome.changed, changed, label)
            XCTAssertEqual(info.name, name, label)
            XCTAssertEqual(info.metadata, metadata, label)
            XCTAssertEqual(info.attributes, attributes, label)
        }
        // Many small requests cannot grow the attributes past the limit.
        var info = base
        var refused = false
        for i in 0..<100 {
            let outcome = ParticipantMetadataUpdate.apply(update(attributes: ["k\(i)": big.prefix(2000).description]), to: &info,
                                                          canUpdateOwnMetadata: true)
            if outcome.reason == .limitExceeded {
                refused = true
                XCTAssertEqual(outcome.message, "exceeds attributes size limit")
                break
            }
        }
        XCTAssertTrue(refused)
        XCTAssertLessThanOrEqual(info.attributes.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }, 64 * 1024)
    }

    // MARK: - API keys

    func testKeyListsAsLiveKitKeysAndKeysOption() throws {
        XCTAssertEqual(try APIKeys.parseList("key1: secret1, key2: secret2", source: "LIVEKIT_KEYS"),
                       ["key1": "secret1", "key2": "secret2"])
        XCTAssertEqual(try APIKeys.parseList("key1: secret1\nkey2:secret2\n", source: "LIVEKIT_KEYS"),
                       ["key1": "secret1", "key2": "secret2"])
        XCTAssertEqual(try APIKeys.parseList("k:s:with:colons", source: "--keys"), ["k": "s:with:colons"])
        for (bad, expected) in [("nocolon", "not KEY: SECRET"), ("k: ", "must not be empty"), ("a: 1, a: 2", "twice"),
                                (" , ", "no KEY: SECRET")] {
            XCTAssertThrowsError(try APIKeys.parseList(bad, source: "LIVEKIT_KEYS")) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(bad): \(error)")
                XCTAssertTrue("\(error)".contains("LIVEKIT_KEYS"), "\(error)")
            }
        }
    }

    func testKeyFileIsLiveKitsYAMLMapping() throws {
        let text = """
            ---
            # production keys
            APIabc: "a-secret-of-at-least-32-characters-1"
            APIdef: 'another: secret'
            APIghi: plain-secret # comment

            """
        XCTAssertEqual(try APIKeys.parseFile(text, path: "keys.yaml"),
                       ["APIabc": "a-secret-of-at-least-32-characters-1", "APIdef": "another: secret", "APIghi": "plain-secret"])
        for (bad, line) in [("a: 1\n  nested: 2", "keys.yaml:2"), ("a: 1\n- item", "keys.yaml:2"), ("a: \"open", "keys.yaml:1"),
                            ("a: 1\na: 2", "keys.yaml:2"), ("# nothing", "no KEY: SECRET")] {
            XCTAssertThrowsError(try APIKeys.parseFile(bad, path: "keys.yaml")) { error in
                XCTAssertTrue("\(error)".contains(line), "\(bad): \(error)")
            }
        }
    }

    func testKeyFileThatOthersCanReadIsRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("keys.yaml").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("k1: s1\n".utf8), attributes: [.posixPermissions: 0o644]))
        XCTAssertThrowsError(try APIKeys.load(file: path)) { error in
            XCTAssertTrue("\(error)".contains("others may access it"), "\(error)")
            XCTAssertFalse("\(error)".contains("s1"), "the secret is not echoed")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        XCTAssertEqual(try APIKeys.load(file: path), ["k1": "s1"])
        XCTAssertThrowsError(try APIKeys.load(file: path + ".missing"))
    }

    func testDevelopmentKeyOnlyOnLoopbackUnlessAsked() throws {
        let none: [String: String] = [:]
        XCTAssertEqual(try APIKeys.resolve(keys: [], keyFile: nil, environment: none, host: "127.0.0.1", dev: false), .development)
        XCTAssertEqual(try APIKeys.resolve(keys: [], keyFile: nil, environment: none, host: "localhost", dev: false), .development)
        XCTAssertEqual(try APIKeys.resolve(keys: [], keyFile: nil, environment: none, host: "::1", dev: false), .development)
        for host in ["0.0.0.0", "10.99.0.1", "example.org", "::", "127.0.0.1.example"] {
            XCTAssertThrowsError(try APIKeys.resolve(keys: [], keyFile: nil, environment: none, host: host, dev: false), host) { error in
                XCTAssertTrue("\(error)".contains("--dev"), "\(error)")
            }
        }
        XCTAssertEqual(try APIKeys.resolve(keys: [], keyFile: nil, environment: none, host: "0.0.0.0", dev: true), .development)
        // Explicit keys win; --keys over LIVEKIT_KEYS; a key file with --keys is ambiguous.
        let env = ["LIVEKIT_KEYS": "envkey: envsecret"]
        XCTAssertEqual(try APIKeys.resolve(keys: [], keyFile: nil, environment: env, host: "0.0.0.0", dev: false).secrets,
                       ["envkey": "envsecret"])
        let given = try APIKeys.resolve(keys: ["k1:s1", "k2: s2"], keyFile: nil, environment: env, host: "0.0.0.0", dev: false)
        XCTAssertEqual(given.secrets, ["k1": "s1", "k2": "s2"])
        XCTAssertEqual(given.description, "k1, k2 (from --keys)", "names only, never secrets")
        XCTAssertEqual(given.shortSecretKeys, ["k1", "k2"])
        XCTAssertThrowsError(try APIKeys.resolve(keys: ["k:s"], keyFile: "/x", environment: none, host: "127.0.0.1", dev: false))
        XCTAssertFalse(APIKeys.development.description.contains("secret"), APIKeys.development.description)
    }
}
