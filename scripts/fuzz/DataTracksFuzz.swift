// libFuzzer entry point for Sources/DataTracks, built by scripts/fuzz-datatracks.sh (it compiles
// this file together with the module's sources, so internal API is visible).
//
// Input: byte 0 picks the depacketizer's partial-frame limit (1…4); then a run of packets, each
// a u16 big-endian length and that many bytes. Every packet is decoded; whatever decodes must
// re-encode to a packet that decodes identically, and goes into the depacketizer, whose
// delivered frames must respect the packet limits. Any trap is a finding.

@_cdecl("LLVMFuzzerTestOneInput")
public func dataTracksFuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = input.first else { return 0 }
    var depacketizer = Depacketizer(maxPartialFrames: Int(first % 4) + 1)
    var offset = 1
    while offset + 2 <= input.count {
        let length = Int(input[offset]) << 8 | Int(input[offset + 1])
        offset += 2
        let packetBytes = Array(input[offset..<min(input.count, offset + length)])
        offset += length
        guard let packet = try? DataTrackPacket(decoding: packetBytes) else { continue }
        let again = try? DataTrackPacket(decoding: packet.encoded())
        if again != packet { fatalError("re-encoded packet decodes differently") }
        let output = depacketizer.push(packet)
        if let frame = output.frame {
            if frame.packetCount < 1 || frame.packetCount > Depacketizer.maxPacketsPerFrame {
                fatalError("frame of \(frame.packetCount) packets")
            }
        }
    }
    _ = depacketizer.flush()
    let stats = depacketizer.statistics
    if stats.deliveredFrames < 0 || stats.droppedFrames < 0 { fatalError("negative counters") }
    return 0
}
