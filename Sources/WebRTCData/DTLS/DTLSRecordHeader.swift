/// The DTLS record header (RFC 6347 §4.1), read only to frame datagrams: OpenSSL does the rest.
///
/// ```
/// +---------+---------+-------+-----------------+--------+
/// | type u8 | version | epoch | sequence number | length |
/// |         |   u16   |  u16  |      u48        |  u16   |
/// +---------+---------+-------+-----------------+--------+
/// ```
/// A datagram holds one or more whole records (RFC 6347 §4.1.1).
struct DTLSRecordHeader: Sendable, Equatable {
    static let length = 13

    /// change_cipher_spec 20, alert 21, handshake 22, application_data 23 (RFC 5246 §6.2.1).
    let contentType: UInt8
    let version: UInt16
    let fragmentLength: Int

    /// Splits a datagram into records, checking that it is exactly a run of whole records of a
    /// known content type and DTLS version (1.0 0xFEFF or 1.2 0xFEFD). Returns the record ranges.
    static func records(in datagram: some RandomAccessCollection<UInt8>) throws(WebRTCDataError) -> [Range<Int>] {
        let bytes = Array(datagram)
        var ranges: [Range<Int>] = []
        var offset = 0
        guard !bytes.isEmpty else {
            throw WebRTCDataError(.dtls, .truncated, "datagram", expected: "at least one record", found: "0 bytes", offset: 0)
        }
        while offset < bytes.count {
            guard bytes.count - offset >= length else {
                throw WebRTCDataError(.dtls, .truncated, "record header", expected: "13 bytes",
                                       found: "\(bytes.count - offset) bytes", offset: offset)
            }
            let type = bytes[offset]
            guard (20 ... 23).contains(type) else {
                throw WebRTCDataError(.dtls, .badValue, "record content type", expected: "20…23",
                                       found: "\(type)", offset: offset)
            }
            let version = UInt16(bytes[offset + 1]) << 8 | UInt16(bytes[offset + 2])
            guard version == 0xFEFD || version == 0xFEFF else {
                throw WebRTCDataError(.dtls, .badValue, "record version", expected: "0xFEFD or 0xFEFF",
                                       found: "0x" + String(version, radix: 16), offset: offset + 1)
            }
            let fragment = Int(bytes[offset + 11]) << 8 | Int(bytes[offset + 12])
            let end = offset + length + fragment
            guard end <= bytes.count else {
                throw WebRTCDataError(.dtls, .truncated, "record length", expected: "\(fragment) bytes of fragment",
                                       found: "\(bytes.count - offset - length) bytes", offset: offset + 11)
            }
            ranges.append(offset ..< end)
            offset = end
        }
        return ranges
    }
}
