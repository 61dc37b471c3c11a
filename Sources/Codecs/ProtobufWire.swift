/// Reads the Protocol Buffers wire format (protobuf.dev/programming-guides/encoding): varints,
/// fixed 32- and 64-bit words and length-delimited runs, each checked against the bytes left.
/// Shared by the descriptor reader and the dynamic message decoder.
struct ProtobufWireReader {
    enum WireType: UInt8 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int
    let end: Int

    init(bytes: UnsafeBufferPointer<UInt8>, from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.index = start
        self.end = end ?? bytes.count
    }

    var isAtEnd: Bool { index >= end }

    mutating func varint() throws(CodecError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = index
        while index < end {
            let b = bytes[index]
            index += 1
            // The tenth byte may only carry the top bit of a 64-bit value; more is malformed.
            if shift == 63 && b > 1 { throw CodecError("protobuf varint longer than 64 bits", at: start) }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
        }
        throw CodecError("protobuf varint truncated", at: start)
    }

    mutating func fixed32() throws(CodecError) -> UInt32 {
        guard end - index >= 4 else { throw CodecError("protobuf fixed32 truncated", at: index) }
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(bytes[index + k]) << (8 * UInt32(k)) }
        index += 4
        return v
    }

    mutating func fixed64() throws(CodecError) -> UInt64 {
        guard end - index >= 8 else { throw CodecError("protobuf fixed64 truncated", at: index) }
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(bytes[index + k]) << (8 * UInt64(k)) }
        index += 8
        return v
    }

    /// A tag: field number and wire type. Field 0 and wire types 6 and 7 do not exist.
    mutating func tag() throws(CodecError) -> (field: UInt32, wire: WireType) {
        let start = index
        let key = try varint()
        guard key <= UInt64(UInt32.max), let wire = WireType(rawValue: UInt8(key & 7)) else {
            throw CodecError("protobuf tag \(key) has wire type \(key & 7), which does not exist", at: start)
        }
        let field = UInt32(key >> 3)
        guard field != 0 else { throw CodecError("protobuf field number 0", at: start) }
        return (field, wire)
    }

    /// The bounds of a length-delimited run, which the reader then skips.
    mutating func lengthDelimited() throws(CodecError) -> Range<Int> {
        let start = index
        let length = try varint()
        guard length <= UInt64(end - index) else {
            throw CodecError("protobuf length \(length) exceeds the \(end - index) bytes left", at: start)
        }
        let range = index..<index + Int(length)
        index = range.upperBound
        return range
    }

    func slice(_ range: Range<Int>) -> [UInt8] {
        Array(UnsafeBufferPointer(rebasing: bytes[range]))
    }

    func text(_ range: Range<Int>) -> String? {
        UTF8Text.string(UnsafeBufferPointer(rebasing: bytes[range]))
    }

    /// Skips one field's value. A group is skipped up to its matching end tag; nesting is bounded
    /// by `depth` so a run of start-group tags cannot recurse without end.
    mutating func skip(_ wire: WireType, field: UInt32, depth: Int = 0) throws(CodecError) {
        switch wire {
        case .varint: _ = try varint()
        case .fixed64: _ = try fixed64()
        case .fixed32: _ = try fixed32()
        case .lengthDelimited: _ = try lengthDelimited()
        case .startGroup:
            guard depth < maximumNestingDepth else {
                throw CodecError("protobuf groups nested deeper than \(maximumNestingDepth)", at: index)
            }
            while true {
                let start = index
                guard !isAtEnd else { throw CodecError("protobuf group \(field) has no end tag", at: index) }
                let (inner, innerWire) = try tag()
                if innerWire == .endGroup {
                    guard inner == field else {
                        throw CodecError("protobuf group \(field) closed by end tag of field \(inner)", at: start)
                    }
                    return
                }
                try skip(innerWire, field: inner, depth: depth + 1)
            }
        case .endGroup:
            throw CodecError("protobuf end-group tag for field \(field) without a start", at: index)
        }
    }
}
