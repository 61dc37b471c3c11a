/// SCTP payload protocol identifiers a data channel uses (RFC 8831 §8, IANA "SCTP Payload
/// Protocol Identifiers").
enum SCTPPayloadProtocol: UInt32, Sendable {
    case dcep = 50
    case string = 51
    case binaryPartial = 52 // deprecated (RFC 8831 §6.6); accepted, never sent
    case binary = 53
    case stringPartial = 54 // deprecated (RFC 8831 §6.6); accepted, never sent
    case emptyString = 56
    case emptyBinary = 57
}
