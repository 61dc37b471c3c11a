import XCTest
@testable import DataTracks

final class HandleAllocatorTests: XCTestCase {
    func testLowestFreeHandleAndReuse() {
        var handles = HandleAllocator()
        XCTAssertEqual(handles.allocate(), 1)
        XCTAssertEqual(handles.allocate(), 2)
        XCTAssertTrue(handles.reserve(4))
        XCTAssertFalse(handles.reserve(4))
        XCTAssertFalse(handles.reserve(0))
        XCTAssertEqual(handles.allocate(), 3)
        XCTAssertEqual(handles.allocate(), 5)
        handles.release(2)
        XCTAssertFalse(handles.contains(2))
        XCTAssertEqual(handles.allocate(), 2)
        XCTAssertEqual(handles.allocate(), 6)
        XCTAssertEqual(handles.count, 6)
    }

    func testExhaustion() {
        var handles = HandleAllocator()
        for expected in 1...UInt16.max { XCTAssertEqual(handles.allocate(), expected) }
        XCTAssertNil(handles.allocate())
        handles.release(40_000)
        XCTAssertEqual(handles.allocate(), 40_000)
        XCTAssertNil(handles.allocate())
    }
}
