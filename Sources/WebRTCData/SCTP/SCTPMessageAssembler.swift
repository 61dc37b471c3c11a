/// Joins the pieces of one SCTP message as `usrsctp_recvv` hands them over (partial delivery:
/// at most one receive buffer per read, `MSG_EOR` on the last), and refuses a message larger
/// than `limit` whole: RFC 8841 §6, we advertised `a=max-message-size` and a peer that sends
/// more gets nothing of that message delivered. Once a message crosses the limit, its remaining
/// pieces are skipped up to its end of record; they never form a message of their own.
struct SCTPMessageAssembler: Sendable {
    let limit: Int
    /// Messages refused for their size.
    private(set) var rejected = 0
    private var buffer: [UInt8] = []
    /// The message being read crossed `limit`: skip to its end of record.
    private var skipping = false

    init(limit: Int) {
        self.limit = limit
    }

    /// Bytes held for the message being read.
    var buffered: Int { buffer.count }

    /// One piece; the whole message when `endOfRecord` completes one within the limit.
    mutating func push(_ piece: ArraySlice<UInt8>, endOfRecord: Bool) -> [UInt8]? {
        if !skipping {
            if buffer.count + piece.count > limit {
                skipping = true
                buffer = []
            } else {
                buffer += piece
            }
        }
        guard endOfRecord else { return nil }
        if skipping {
            skipping = false
            rejected += 1
            return nil
        }
        defer { buffer = [] }
        return buffer
    }
}
