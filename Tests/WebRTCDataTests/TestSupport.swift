import Foundation
@testable import WebRTCData
import TestSupport

/// A file of the SDK captures (`SDKCaptures`), e.g. `plain/answer.sdp`.
func testVector(_ relativePath: String) throws -> String {
    try SDKCaptures.text(relativePath)
}
