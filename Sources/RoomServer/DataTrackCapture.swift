import Foundation
import Synchronization

/// Every data-track packet the server received, as it arrived after DTLS and SCTP: what the
/// server itself can read (`trackbag serve --capture-data-tracks FILE`). For checking what a
/// server sees, e.g. that E2EE leaves it nothing but ciphertext.
///
/// File: one record per packet, `u32 big-endian length ‖ packet bytes`. Writes are appended as
/// they come (no buffering beyond the kernel's), so the file is complete when the server stops.
final class DataTrackCapture: Sendable {
    private let handle: Mutex<FileHandle?>

    init(path: String) throws(RoomServerError) {
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw .badConfiguration("cannot create capture file \(path)")
        }
        self.handle = Mutex(handle)
    }

    func record(_ packet: [UInt8]) {
        var record = [UInt8]()
        record.reserveCapacity(4 + packet.count)
        let length = UInt32(packet.count)
        record.append(contentsOf: [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)])
        record.append(contentsOf: packet)
        handle.withLock { h in
            do { try h?.write(contentsOf: record) } catch { h = nil }  // a full disk ends the capture, not the server
        }
    }
}
