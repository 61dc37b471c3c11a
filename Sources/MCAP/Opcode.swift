/// Record opcodes (spec "Records"). 0x01–0x7F are the format's, 0x80–0xFF belong to
/// applications; readers skip opcodes they do not know.
enum Opcode: UInt8, Sendable {
    case header = 0x01
    case footer = 0x02
    case schema = 0x03
    case channel = 0x04
    case message = 0x05
    case chunk = 0x06
    case messageIndex = 0x07
    case chunkIndex = 0x08
    case attachment = 0x09
    case attachmentIndex = 0x0A
    case statistics = 0x0B
    case metadata = 0x0C
    case metadataIndex = 0x0D
    case summaryOffset = 0x0E
    case dataEnd = 0x0F
}

/// `0x89 M C A P 0x30 \r \n` at both ends of the file (spec "Magic"); 0x30 is major version 0.
let mcapMagic: [UInt8] = [0x89, 0x4D, 0x43, 0x41, 0x50, 0x30, 0x0D, 0x0A]

/// Every record: `<opcode u8><content length u64><content>` (spec "Records").
let recordPrefixSize = 9
