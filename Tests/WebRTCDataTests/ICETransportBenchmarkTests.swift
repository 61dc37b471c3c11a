import Foundation
import XCTest
@testable import WebRTCData

/// Raw datagram throughput of two ICE transports over 127.0.0.1, printed, never asserted
/// (benchmarks print figures, never assert them). Set TB_BENCH=1 to run it:
/// `TB_BENCH=1 .build/debug/trackbagPackageTests.xctest WebRTCDataTests.ICETransportBenchmarkTests`
/// It measures the ICE/UDP layer alone, the floor under DTLS/SCTP throughput.
final class ICETransportBenchmarkTests: XCTestCase {
    final class Counter: @unchecked Sendable {
        // @unchecked: bumped only on the receiving transport's executor, read after a sleep.
        var datagrams = 0
        var bytes = 0
    }

    func testDatagramThroughputOverLoopback() async throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["TB_BENCH"] != nil, "set TB_BENCH=1")
        let loopback = [TransportAddress(host: "127.0.0.1", port: 0)!]
        let a = try ICETransport(.init(mode: .full(role: .controlling), addresses: loopback))
        let b = try ICETransport(.init(mode: .lite, addresses: loopback))
        try await a.start()
        try await b.start()
        await a.setRemoteCredentials(ufrag: b.localUfrag, pwd: b.localPwd)
        await b.setRemoteCredentials(ufrag: a.localUfrag, pwd: a.localPwd)
        for candidate in await b.localCandidates { await a.addRemoteCandidate(candidate) }
        _ = await a.waitForState([.connected], timeout: .seconds(5))
        _ = await b.waitForState([.connected], timeout: .seconds(5))
        let counter = Counter()
        await b.setDatagramHandler { datagram in
            counter.datagrams += 1
            counter.bytes += datagram.count
        }
        let datagram: [UInt8] = [23, 0xFE, 0xFD] + Array(repeating: 0x55, count: 1197)
        let count = 200_010 // a multiple of 15, for the batch path
        // A batch as one 16,000-byte message makes: 15 datagrams (one sendmmsg).
        let batch = Array(repeating: datagram, count: 15)
        for path in ["actor send", "sendImmediately", "sendImmediately(batch:) of 15"] {
            counter.datagrams = 0
            counter.bytes = 0
            let cpuStart = clock()
            let start = ContinuousClock.now
            if path.hasPrefix("sendImmediately(batch:)") {
                for index in 0..<count / batch.count {
                    a.sendImmediately(batch: batch)
                    if index % 17 == 16 { await Task.yield() }
                }
            } else {
                for index in 0..<count {
                    if path == "actor send" { await a.send(datagram) } else { a.sendImmediately(datagram) }
                    // Pace a little so the 4 MiB receive buffer is not the thing measured.
                    if index % 256 == 255 { await Task.yield() }
                }
            }
            let sendElapsed = ContinuousClock.now - start
            try await Task.sleep(for: .milliseconds(300))
            let cpu = Double(clock() - cpuStart) / Double(CLOCKS_PER_SEC)
            let seconds = Double(sendElapsed.components.seconds) + Double(sendElapsed.components.attoseconds) / 1e18
            let megabytes = Double(counter.bytes) / 1e6
            print(String(format: "ICE/UDP loopback, %@: sent %d × 1200 B in %.3f s = %.1f MB/s offered; received %d (%.1f%%), %.1f MB; CPU %.3f s (%.1f ms per MB received)",
                         path, count, seconds, Double(count * 1200) / 1e6 / seconds, counter.datagrams,
                         100 * Double(counter.datagrams) / Double(count), megabytes, cpu, 1000 * cpu / max(megabytes, 0.001)))
        }
        await a.close()
        await b.close()
    }
}
