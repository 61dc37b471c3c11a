import Synthetic
import TestSupport
import Foundation
import XCTest
@testable import DataTracks

final class FrameCryptorTests: XCTestCase {
    /// PBKDF2-HMAC-SHA256("spike-shared-key", "LKFrameEncryptionKey", 100,000, 16 bytes),
    /// computed independently with Python's hashlib.pbkdf2_hmac.
    static let derivedSpikeKey = hex("2920f796203573d661a2cfa47ec02dbd")

    func testKeyDerivation() throws {
        XCTAssertEqual(try E2EEKey(deriving: TestVectors.sharedKey).bytes, Self.derivedSpikeKey)
        XCTAssertEqual(try E2EEKey(passphrase: "spike-shared-key").bytes, Self.derivedSpikeKey)
        XCTAssertThrowsError(try E2EEKey(deriving: [])) { XCTAssertEqual($0 as? DataTrackError, .invalidKey(length: 0)) }
        XCTAssertThrowsError(try E2EEKey(aesKey: [1, 2, 3])) { XCTAssertEqual($0 as? DataTrackError, .invalidKey(length: 3)) }
    }

    static func capturedEncryptedFrames() throws -> [DepacketizedFrame] {
        let (frames, _) = try DepacketizerTests.run(try TestVectors.packets("e2ee", "server-to-subscriber.jsonl"))
        return frames
    }

    /// Every frame of the SDK's E2EE capture decrypts, with the shared key as the SDK was given
    /// it (raw bytes of `spike-shared-key`, derived by PBKDF2, key index 0), to exactly the
    /// frames the SDK publisher pushed and the SDK subscriber received.
    func testDecryptsEveryE2EECaptureFrame() throws {
        let encrypted = try Self.capturedEncryptedFrames()
        let received = try TestVectors.frames("e2ee", "received-frames.jsonl")
        XCTAssertEqual(received, try TestVectors.frames("e2ee", "pushed-frames.jsonl"))
        XCTAssertEqual(encrypted.count, received.count)
        var cryptor = FrameCryptor(keys: try E2EEKeyProvider(sharedKey: TestVectors.sharedKey))
        for (frame, expected) in zip(encrypted, received) {
            XCTAssertEqual(frame.e2ee?.keyIndex, 0)
            let plain = try cryptor.decrypt(frame, participant: "publisher")
            XCTAssertEqual(plain, DataTrackFrame(payload: expected.payload, userTimestamp: expected.userTimestamp))
        }
        XCTAssertEqual(cryptor.statistics.decryptedFrames, received.count)
        XCTAssertEqual(cryptor.statistics.failedFrames, 0)
    }

    /// The vectors decide that the SDK derives: the raw 16 bytes used directly as the AES key
    /// fail to authenticate every frame (and each failure is counted).
    func testRawSharedKeyWithoutDerivationFails() throws {
        let encrypted = try Self.capturedEncryptedFrames()
        var cryptor = FrameCryptor(keys: try E2EEKeyProvider(sharedKey: E2EEKey(aesKey: TestVectors.sharedKey)))
        for frame in encrypted {
            XCTAssertThrowsError(try cryptor.decrypt(frame, participant: "p")) {
                XCTAssertEqual($0 as? DataTrackError, .authenticationFailed(keyIndex: 0, participant: "p"))
            }
        }
        XCTAssertEqual(cryptor.statistics.authenticationFailed, encrypted.count)
        XCTAssertEqual(cryptor.statistics.decryptedFrames, 0)
    }

    /// Given the SDK's IV, our AES-GCM produces the SDK's ciphertext and tag exactly.
    func testSealReproducesSDKCiphertext() throws {
        let encrypted = try Self.capturedEncryptedFrames()
        let pushed = try TestVectors.frames("e2ee", "pushed-frames.jsonl")
        let key = try E2EEKey(aesKey: Self.derivedSpikeKey)
        for (frame, plain) in zip(encrypted, pushed) {
            let iv = try XCTUnwrap(frame.e2ee?.iv)
            XCTAssertEqual(try FrameCryptor.seal(plain.payload, key: key, iv: iv), frame.payload)
        }
    }

    func testEncryptPacketizeDepacketizeDecrypt() throws {
        let keys = try E2EEKeyProvider(sharedPassphrase: "room secret")
        var sender = FrameCryptor(keys: keys)
        var receiver = FrameCryptor(keys: keys)
        var packetizer = try Packetizer(handle: 4)
        var depacketizer = Depacketizer()
        var ivs = Set<InitializationVector>()
        var rng = SplitMix64(seed: 7)
        for i in 0..<300 {
            let payload = (0..<Int.random(in: 0...40_000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let (ciphertext, e2ee) = try sender.encrypt(payload, participant: "alice")
            XCTAssertEqual(ciphertext.count, payload.count + 16)
            XCTAssertTrue(ivs.insert(e2ee.iv).inserted)
            var delivered: DepacketizedFrame?
            for packet in try packetizer.packetizeEncoded(payload: ciphertext, userTimestamp: UInt64(i), e2ee: e2ee) {
                XCTAssertLessThanOrEqual(packet.count, 16_000)
                if let frame = try depacketizer.push(encoded: packet).frame { delivered = frame }
            }
            let frame = try XCTUnwrap(delivered)
            XCTAssertEqual(try receiver.decrypt(frame, participant: "alice"), DataTrackFrame(payload: payload, userTimestamp: UInt64(i)))
        }
        XCTAssertEqual(sender.statistics.encryptedFrames, 300)
        XCTAssertEqual(receiver.statistics.decryptedFrames, 300)
    }

    /// IVs: consecutive counters within a cryptor, a random start per cryptor and per new key.
    func testIVConstruction() throws {
        let keys = try E2EEKeyProvider(sharedKey: E2EEKey(aesKey: Self.derivedSpikeKey))
        var a = FrameCryptor(keys: keys)
        let b = FrameCryptor(keys: keys)
        let first = try a.encrypt([1], participant: "x").e2ee.iv
        let second = try a.encrypt([1], participant: "x").e2ee.iv
        XCTAssertEqual(second.prefix, first.prefix)
        XCTAssertEqual(second.counter, first.counter &+ 1)
        var b2 = b
        let other = try b2.encrypt([1], participant: "x").e2ee.iv
        XCTAssertNotEqual(other, first)
        try a.setSharedKey(E2EEKey(aesKey: [UInt8](repeating: 9, count: 16)), index: 1)
        let afterRotation = try a.encrypt([1], participant: "x")
        XCTAssertEqual(afterRotation.e2ee.keyIndex, 1)
        XCTAssertNotEqual(afterRotation.e2ee.iv.counter, second.counter &+ 1)
    }

    func testKeyRotationAndRing() throws {
        var provider = try E2EEKeyProvider(sharedKey: Array("k0".utf8))
        var sender = FrameCryptor(keys: provider)
        let old = try sender.encrypt([1, 2, 3], participant: "a")
        try sender.setSharedKey(E2EEKey(deriving: Array("k5".utf8)), index: 5)
        let new = try sender.encrypt([4, 5], participant: "a")
        XCTAssertEqual(old.e2ee.keyIndex, 0)
        XCTAssertEqual(new.e2ee.keyIndex, 5)
        // A receiver that has only key 0 decrypts the old frame and counts the new one.
        var receiver = FrameCryptor(keys: provider)
        XCTAssertEqual(try receiver.decrypt(old.ciphertext, e2ee: old.e2ee, participant: "a"), [1, 2, 3])
        XCTAssertThrowsError(try receiver.decrypt(new.ciphertext, e2ee: new.e2ee, participant: "a")) {
            XCTAssertEqual($0 as? DataTrackError, .unknownKeyIndex(5, participant: "a"))
        }
        XCTAssertEqual(receiver.statistics.unknownKeyIndex, 1)
        // Once it learns key 5 at runtime, both decrypt.
        try receiver.setSharedKey(E2EEKey(deriving: Array("k5".utf8)), index: 5)
        XCTAssertEqual(try receiver.decrypt(new.ciphertext, e2ee: new.e2ee, participant: "a"), [4, 5])
        XCTAssertEqual(try receiver.decrypt(old.ciphertext, e2ee: old.e2ee, participant: "a"), [1, 2, 3])
        XCTAssertThrowsError(try provider.setSharedKey(E2EEKey(deriving: [1]), index: 16)) {
            XCTAssertEqual($0 as? DataTrackError, .keyIndexOutOfRange(16))
        }
    }

    func testPerParticipantKeys() throws {
        var provider = E2EEKeyProvider()
        try provider.setKey(E2EEKey(deriving: Array("alice-key".utf8)), for: "alice", index: 0)
        try provider.setKey(E2EEKey(deriving: Array("bob-key".utf8)), for: "bob", index: 2)
        var alice = FrameCryptor(keys: provider)
        var bob = FrameCryptor(keys: provider)
        var receiver = FrameCryptor(keys: provider)
        let fromAlice = try alice.encrypt([1], participant: "alice")
        let fromBob = try bob.encrypt([2], participant: "bob")
        XCTAssertEqual(fromBob.e2ee.keyIndex, 2)
        XCTAssertEqual(try receiver.decrypt(fromAlice.ciphertext, e2ee: fromAlice.e2ee, participant: "alice"), [1])
        XCTAssertEqual(try receiver.decrypt(fromBob.ciphertext, e2ee: fromBob.e2ee, participant: "bob"), [2])
        // Alice's frame claimed to be Bob's: Bob has no key 0.
        XCTAssertThrowsError(try receiver.decrypt(fromAlice.ciphertext, e2ee: fromAlice.e2ee, participant: "bob"))
        XCTAssertThrowsError(try alice.encrypt([1], participant: "carol")) {
            XCTAssertEqual($0 as? DataTrackError, .unknownKeyIndex(0, participant: "carol"))
        }
    }

    func testFailuresAreTypedAndCounted() throws {
        let keys = try E2EEKeyProvider(sharedKey: E2EEKey(aesKey: Self.derivedSpikeKey))
        var cryptor = FrameCryptor(keys: keys)
        let (ciphertext, e2ee) = try cryptor.encrypt(Array("hello".utf8), participant: "a")
        XCTAssertThrowsError(try cryptor.decrypt(ciphertext, e2ee: nil, participant: "a")) {
            XCTAssertEqual($0 as? DataTrackError, .missingE2EEExtension)
        }
        var tampered = ciphertext
        tampered[0] ^= 1
        XCTAssertThrowsError(try cryptor.decrypt(tampered, e2ee: e2ee, participant: "a")) {
            XCTAssertEqual($0 as? DataTrackError, .authenticationFailed(keyIndex: 0, participant: "a"))
        }
        var wrongIV = e2ee
        wrongIV.iv.counter &+= 1
        XCTAssertThrowsError(try cryptor.decrypt(ciphertext, e2ee: wrongIV, participant: "a"))
        XCTAssertThrowsError(try cryptor.decrypt(Array(ciphertext.prefix(15)), e2ee: e2ee, participant: "a")) {
            XCTAssertEqual($0 as? DataTrackError, .ciphertextTooShort(length: 15))
        }
        var otherIndex = e2ee
        otherIndex.keyIndex = 3
        XCTAssertThrowsError(try cryptor.decrypt(ciphertext, e2ee: otherIndex, participant: "a")) {
            XCTAssertEqual($0 as? DataTrackError, .unknownKeyIndex(3, participant: "a"))
        }
        XCTAssertEqual(cryptor.statistics.missingExtension, 1)
        XCTAssertEqual(cryptor.statistics.authenticationFailed, 3)
        XCTAssertEqual(cryptor.statistics.unknownKeyIndex, 1)
        XCTAssertEqual(try cryptor.decrypt(ciphertext, e2ee: e2ee, participant: "a"), Array("hello".utf8))
        // Empty frames encrypt to just a tag and come back empty.
        let empty = try cryptor.encrypt([], participant: "a")
        XCTAssertEqual(empty.ciphertext.count, 16)
        XCTAssertEqual(try cryptor.decrypt(empty.ciphertext, e2ee: empty.e2ee, participant: "a"), [])
    }

    /// The C side keeps one context per thread and reuses its key schedule while the key stays
    /// the same; alternating keys, failures and IVs must give the same bytes as fresh contexts.
    func testAlternatingKeysGiveTheSameCiphertexts() throws {
        let a = try E2EEKey(aesKey: Self.derivedSpikeKey)
        let b = try E2EEKey(aesKey: [UInt8](repeating: 7, count: 16))
        let iv1 = InitializationVector(prefix: 1, counter: 1)
        let iv2 = InitializationVector(prefix: 2, counter: 2)
        let plain = Array("alternating keys".utf8)
        let a1 = try FrameCryptor.seal(plain, key: a, iv: iv1)
        let b1 = try FrameCryptor.seal(plain, key: b, iv: iv1)
        let a2 = try FrameCryptor.seal(plain, key: a, iv: iv2)
        XCTAssertNotEqual(a1, b1)
        XCTAssertNotEqual(a1, a2)
        for _ in 0..<3 {
            XCTAssertEqual(try FrameCryptor.seal(plain, key: a, iv: iv1), a1)
            XCTAssertEqual(try FrameCryptor.seal(plain, key: a, iv: iv2), a2)
            XCTAssertEqual(try FrameCryptor.seal(plain, key: b, iv: iv1), b1)
            XCTAssertEqual(try FrameCryptor.open(a1, key: a, iv: iv1), plain)
            XCTAssertThrowsError(try FrameCryptor.open(a1, key: b, iv: iv1))
            XCTAssertThrowsError(try FrameCryptor.open(a1, key: a, iv: iv2))
            XCTAssertEqual(try FrameCryptor.open(b1, key: b, iv: iv1), plain)
            XCTAssertEqual(try FrameCryptor.open(a2, key: a, iv: iv2), plain)
        }
        // From several threads at once: each has its own contexts.
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let key = i % 2 == 0 ? a : b
            let expected = i % 2 == 0 ? a1 : b1
            for _ in 0..<200 {
                XCTAssertEqual(try? FrameCryptor.seal(plain, key: key, iv: iv1), expected)
                XCTAssertEqual(try? FrameCryptor.open(expected, key: key, iv: iv1), plain)
            }
        }
    }
}

/// The stored form of an E2EE frame kept as ciphertext (passthrough recordings).
final class SealedFrameTests: XCTestCase {
    /// Every SDK-encrypted frame of the capture, stored and read back, opens with the shared key
    /// to what the SDK publisher pushed.
    func testCapturedFramesSurviveTheStoredFormAndOpen() throws {
        let encrypted = try FrameCryptorTests.capturedEncryptedFrames()
        let pushed = try TestVectors.frames("e2ee", "pushed-frames.jsonl")
        let keys = try E2EEKeyProvider(sharedKey: TestVectors.sharedKey)
        XCTAssertEqual(encrypted.count, pushed.count)
        for (frame, expected) in zip(encrypted, pushed) {
            let e2ee = try XCTUnwrap(frame.e2ee)
            let stored = SealedFrame(e2ee: e2ee, ciphertext: frame.payload).stored
            XCTAssertEqual(stored.count, 13 + frame.payload.count)
            XCTAssertEqual(stored[0], e2ee.keyIndex)
            XCTAssertEqual(Array(stored[1..<13]), e2ee.iv.bytes)
            let read = try SealedFrame(stored: stored)
            XCTAssertEqual(read.e2ee, e2ee)
            XCTAssertEqual(try read.open(with: keys, participant: "publisher"), expected.payload)
            // A passthrough frame carries the same pieces.
            XCTAssertEqual(DataTrackFrame(sealed: read, userTimestamp: 1).sealed, read)
        }
    }

    func testShortOrWrongKeyedFramesAreTypedErrors() throws {
        XCTAssertThrowsError(try SealedFrame(stored: [UInt8](repeating: 0, count: 28))) { error in
            XCTAssertEqual(error as? DataTrackError, .truncated(field: "sealed E2EE frame (key index, IV, ciphertext, tag)",
                                                                offset: 0, needed: 29, available: 28))
        }
        var cryptor = FrameCryptor(keys: try E2EEKeyProvider(sharedPassphrase: "a"))
        let (ciphertext, e2ee) = try cryptor.encrypt([7, 7, 7], participant: "p")
        let sealed = SealedFrame(e2ee: e2ee, ciphertext: ciphertext)
        XCTAssertEqual(try sealed.open(with: try E2EEKeyProvider(sharedPassphrase: "a"), participant: "p"), [7, 7, 7])
        XCTAssertThrowsError(try sealed.open(with: try E2EEKeyProvider(sharedPassphrase: "b"), participant: "p")) { error in
            XCTAssertEqual(error as? DataTrackError, .authenticationFailed(keyIndex: 0, participant: "p"))
        }
        XCTAssertThrowsError(try sealed.open(with: E2EEKeyProvider(), participant: "p")) { error in
            XCTAssertEqual(error as? DataTrackError, .unknownKeyIndex(0, participant: "p"))
        }
    }
}
