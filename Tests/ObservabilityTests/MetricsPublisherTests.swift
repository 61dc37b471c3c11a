import MetricsTestKit
import Observability
import XCTest

final class MetricsPublisherTests: XCTestCase {
    /// Components hand over absolute counts; the swift-metrics counter must end at the same
    /// total, whatever the rounds in between, and never be decremented.
    func testCountersFollowAbsoluteSamplesByIncrementsAndGaugesTakeTheValue() throws {
        let metrics = TestMetrics()
        let publisher = MetricsPublisher(factory: metrics)
        let labels = [("stage", "room"), ("track", "robot/imu")]
        publisher.publish([.counter("trackbag_track_frames_total", labels, 5), .gauge("trackbag_stage_queue_frames", [], 3)])
        publisher.publish([.counter("trackbag_track_frames_total", labels, 12), .gauge("trackbag_stage_queue_frames", [], 0)])
        publisher.publish([.counter("trackbag_track_frames_total", labels, 12), .gauge("trackbag_stage_queue_frames", [], 7)])
        let counter = try metrics.expectCounter("trackbag_track_frames_total", labels)
        XCTAssertEqual(counter.totalValue, 12)
        XCTAssertEqual(counter.values, [5, 7])
        let gauge = try metrics.expectGauge("trackbag_stage_queue_frames")
        XCTAssertEqual(gauge.values, [3, 0, 7])
    }

    /// A series absent from a round (a participant that left) is destroyed, not kept forever.
    func testASeriesMissingFromARoundIsDestroyed() throws {
        let metrics = TestMetrics()
        let publisher = MetricsPublisher(factory: metrics)
        let alice = [("room", "lab"), ("participant", "alice")], bob = [("room", "lab"), ("participant", "bob")]
        publisher.publish([.counter("trackbag_server_packets_forwarded_total", alice, 1),
                           .counter("trackbag_server_packets_forwarded_total", bob, 2)])
        publisher.publish([.counter("trackbag_server_packets_forwarded_total", bob, 4)])
        XCTAssertThrowsError(try metrics.expectCounter("trackbag_server_packets_forwarded_total", alice))
        XCTAssertEqual(try metrics.expectCounter("trackbag_server_packets_forwarded_total", bob).totalValue, 4)
    }
}
