/// Decodes ROS 2 messages serialized as CDR (OMG DDS-XTypes 1.3 §7.4, the form rmw
/// implementations write and MCAP's `cdr` message encoding names) into `Value`.
///
/// Wire form: a 4-byte encapsulation header (`00 00` CDR big endian, `00 01` CDR little endian,
/// `00 06`/`00 07` plain CDR2 big/little endian; then two option bytes), then the fields in order.
/// Each primitive is aligned to its size, counted from the end of the header; plain CDR2 aligns
/// 8-byte types to 4. Strings are a uint32 length that counts a terminating NUL, the bytes and
/// the NUL; sequences a uint32 count then the elements; fixed arrays just the elements.
///
/// Mapping: a message → `.object` (fields in order), integers → `.int`, `uint64` above Int64.max
/// → `.uint`, floats → `.double`, bool → `.bool`, string → `.string`, arrays and sequences →
/// `.array`, except `uint8[]`/`byte[]` (and fixed arrays of them) → `.bytes`, as
/// `mcap-ros2-support` decodes them. `builtin_interfaces/Time` stays `{sec, nanosec}`.
public struct CDRDecoder: Sendable {
    public let schema: ROS2MessageSchema

    public init(schema: ROS2MessageSchema) {
        self.schema = schema
    }

    public func decode(_ bytes: [UInt8]) throws(CodecError) -> Value {
        try bytes.withUnsafeBufferPointer { (buffer) throws(CodecError) -> Value in
            guard buffer.count >= 4 else { throw CodecError("CDR payload shorter than its 4-byte encapsulation header", at: 0) }
            var r = CDRReader(bytes: buffer, index: 4, littleEndian: true, maximumAlignment: 8)
            switch (buffer[0], buffer[1]) {
            case (0, 0): r.littleEndian = false
            case (0, 1): r.littleEndian = true
            case (0, 6): r.littleEndian = false; r.maximumAlignment = 4
            case (0, 7): r.littleEndian = true; r.maximumAlignment = 4
            default:
                throw CodecError("CDR encapsulation \(buffer[0]) \(buffer[1]) is not plain CDR or CDR2 (parameter lists and delimited CDR are not decoded)", at: 0)
            }
            let value = try message(schema.root, &r, depth: 0)
            // Trailing bytes are padding or fields of a newer type version: tolerated, as rmw does.
            return value
        }
    }

    private func message(_ t: Int, _ r: inout CDRReader, depth: Int) throws(CodecError) -> Value {
        guard depth < maximumNestingDepth else {
            throw CodecError("CDR messages nested deeper than \(maximumNestingDepth)", at: r.index)
        }
        let type = schema.types[t]
        if type.fields.isEmpty {
            _ = try r.primitive(.uint8)  // structure_needs_at_least_one_field
            return .object([])
        }
        var members: [(key: String, value: Value)] = []
        members.reserveCapacity(type.fields.count)
        for field in type.fields {
            let value: Value
            switch field.multiplicity {
            case .single:
                value = try element(field.type, &r, depth: depth)
            case .array(let n):
                value = try elements(field.type, count: n, &r, depth: depth, field: field.name)
            case .sequence(let bound):
                let at = r.index
                let count = try r.uint32()
                if let bound, count > bound {
                    throw CodecError("CDR sequence '\(field.name)' of \(count) exceeds its bound \(bound)", at: at)
                }
                value = try elements(field.type, count: Int(count), &r, depth: depth, field: field.name)
            }
            members.append((field.name, value))
        }
        return .object(members)
    }

    private func element(_ type: ROS2MessageSchema.ElementType, _ r: inout CDRReader, depth: Int) throws(CodecError) -> Value {
        switch type {
        case .primitive(.string, let bound): return try r.string(bound: bound)
        case .primitive(let p, _): return try r.primitive(p)
        case .message(let t): return try message(t, &r, depth: depth + 1)
        }
    }

    private func elements(_ type: ROS2MessageSchema.ElementType, count: Int, _ r: inout CDRReader,
                          depth: Int, field: String) throws(CodecError) -> Value {
        let minimum: Int
        switch type {
        case .primitive(let p, _): minimum = p.size
        case .message(let t): minimum = schema.types[t].minimumSize
        }
        // Checked before allocating: a hostile count cannot ask for more than the bytes left.
        guard count == 0 || minimum <= r.remaining / count else {
            throw CodecError("CDR '\(field)' of \(count) elements exceeds the \(r.remaining) bytes left", at: r.index)
        }
        if case .primitive(let p, _) = type, p == .uint8 || p == .byte {
            return .bytes(try r.raw(count))
        }
        var items: [Value] = []
        items.reserveCapacity(count)
        for _ in 0..<count { items.append(try element(type, &r, depth: depth)) }
        return .array(items)
    }
}

struct CDRReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int
    var littleEndian: Bool
    var maximumAlignment: Int

    var remaining: Int { bytes.count - index }

    /// Pads to a multiple of `size` counted from the end of the encapsulation header.
    mutating func align(_ size: Int) throws(CodecError) {
        let a = min(size, maximumAlignment)
        let offset = (index - 4) % a
        if offset != 0 {
            let pad = a - offset
            guard remaining >= pad else { throw CodecError("CDR payload truncated in alignment padding", at: index) }
            index += pad
        }
    }

    mutating func word(_ size: Int) throws(CodecError) -> UInt64 {
        try align(size)
        guard remaining >= size else { throw CodecError("CDR payload truncated: \(size)-byte value", at: index) }
        var v: UInt64 = 0
        if littleEndian {
            for k in 0..<size { v |= UInt64(bytes[index + k]) << (8 * UInt64(k)) }
        } else {
            for k in 0..<size { v = v << 8 | UInt64(bytes[index + k]) }
        }
        index += size
        return v
    }

    mutating func uint32() throws(CodecError) -> Int { Int(try word(4)) }

    mutating func raw(_ count: Int) throws(CodecError) -> [UInt8] {
        guard remaining >= count else { throw CodecError("CDR payload truncated: \(count) bytes", at: index) }
        defer { index += count }
        return Array(UnsafeBufferPointer(rebasing: bytes[index..<index + count]))
    }

    mutating func string(bound: Int?) throws(CodecError) -> Value {
        let at = index
        let length = try uint32()
        guard length <= remaining else {
            throw CodecError("CDR string of \(length) bytes exceeds the \(remaining) bytes left", at: at)
        }
        // The length counts the terminating NUL; some writers send 0 for an empty string.
        let textLength = length > 0 && bytes[index + length - 1] == 0 ? length - 1 : length
        if let bound, textLength > bound {
            throw CodecError("CDR string of \(textLength) bytes exceeds its bound \(bound)", at: at)
        }
        guard let text = UTF8Text.string(UnsafeBufferPointer(rebasing: bytes[index..<index + textLength])) else {
            throw CodecError("CDR string is not valid UTF-8", at: at)
        }
        index += length
        return .string(text)
    }

    mutating func primitive(_ p: ROS2MessageSchema.Primitive) throws(CodecError) -> Value {
        switch p {
        case .bool: return .bool(try word(1) != 0)
        case .byte, .uint8, .char: return .int(Int64(try word(1)))
        case .int8: return .int(Int64(Int8(truncatingIfNeeded: try word(1))))
        case .uint16: return .int(Int64(try word(2)))
        case .int16: return .int(Int64(Int16(truncatingIfNeeded: try word(2))))
        case .uint32: return .int(Int64(try word(4)))
        case .int32: return .int(Int64(Int32(truncatingIfNeeded: try word(4))))
        case .uint64:
            let v = try word(8)
            return v <= UInt64(Int64.max) ? .int(Int64(v)) : .uint(v)
        case .int64: return .int(Int64(bitPattern: try word(8)))
        case .float32: return .double(Double(Float(bitPattern: UInt32(try word(4)))))
        case .float64: return .double(Double(bitPattern: try word(8)))
        case .string: return try string(bound: nil)
        case .wstring:
            throw CodecError("CDR wstring fields are not decoded", at: index)
        }
    }
}
