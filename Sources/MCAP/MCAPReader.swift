/// A record the reader hands out. Chunks are opened transparently: their Schema, Channel and
/// Message records come out one by one; index and summary records are consumed internally.
public enum Record: Sendable {
    case schema(Schema)
    case channel(Channel)
    case message(Message)
    case metadata(Metadata)
    case attachment(Attachment)
}

/// Reads an MCAP file one record at a time with flat memory (one chunk decompressed at a time).
///
/// Two paths (spec "Summary Section", notes "Reading"):
/// - **indexed**: when the footer leads to a summary with Chunk Index records, schemas and
///   channels come from the summary and chunks, metadata and attachments are read at the
///   offsets the summary gives, in file order. The summary CRC and chunk CRCs are checked.
///   Messages come in file order (`Order.file`) or merged by `log_time` across chunks
///   (`Order.logTime`, what MCAP's indexed readers do).
///
/// Whatever the path, a Schema is handed out before any Channel that names it, and a Channel
/// before its first Message. A summary Channel whose Schema the summary lacks (the Schema is
/// only inside a chunk) waits until that Schema comes out of a chunk, or until its first
/// Message, whichever is first.
/// - **linear**: otherwise (no summary, unchunked or unindexed files, or a missing footer),
///   every record from the start is parsed in order; the data section CRC and chunk CRCs are
///   checked. A file that ends early throws `MCAPError(.truncated)` with the offset and how many
///   messages and bytes were readable: there is no silent success on a cut file.
public final class MCAPReader {
    public struct Options: Sendable {
        public var validateCRCs: Bool
        /// false forces the linear path even when the file has an index.
        public var useIndex: Bool
        /// Largest decompressed chunk accepted, checked before allocating (with what the
        /// compressed bytes can expand to). Default 256 MiB: common writers chunk at about
        /// 1 MiB, and a frame above 64 MiB cannot be recorded anyway.
        public var maxChunkSize: UInt64
        /// Message order on the indexed path; the linear path always reads in file order.
        public var order: Order
        /// Log-time order: most decompressed chunk bytes held at once (chunks overlapping in
        /// time). Default 1 GiB; past it the read stops with `overLimit`.
        public var maxHeldChunkBytes: UInt64

        public init(validateCRCs: Bool = true, useIndex: Bool = true, maxChunkSize: UInt64 = 256 << 20,
                    order: Order = .file, maxHeldChunkBytes: UInt64 = 1 << 30) {
            self.validateCRCs = validateCRCs
            self.useIndex = useIndex
            self.maxChunkSize = maxChunkSize
            self.order = order
            self.maxHeldChunkBytes = maxHeldChunkBytes
        }
    }

    /// The order messages come in.
    public enum Order: String, Sendable {
        /// Chunks by file offset, messages in chunk order: one chunk in memory at a time.
        case file
        /// By `log_time` (ties in file order), merged across chunks through the chunk index:
        /// holds every chunk whose time range overlaps the one being read. Metadata and
        /// attachments come before the first message.
        case logTime = "log-time"
    }

    public enum Mode: Sendable { case indexed, linear }

    public let options: Options
    public let header: Header
    public var fileSize: Int64 { input.size }
    public private(set) var mode: Mode = .linear
    /// Messages handed out so far.
    public private(set) var messagesRead = 0
    /// End offset of the last record parsed completely (linear path) or of the last chunk
    /// read completely (indexed path).
    public private(set) var bytesReadable: Int64 = 0
    /// The largest decompressed-chunk buffer sized so far: what the file could make this reader
    /// allocate, whatever its chunks declare (bounded by `maxChunkSize` and what the compressed
    /// bytes can expand to).
    public var largestChunkBuffer: Int { decompressor.largestOutput }

    private let input: FileInput
    private let decompressor = ChunkDecompressor()
    private var summaryCache: Summary??

    // An open chunk: inner records at `chunkCursor..<chunkEnd` of `decompressor.output`.
    private var chunkCursor = 0
    private var chunkEnd = 0
    private var chunkOffset: Int64 = 0

    // Linear path state.
    private var afterDataEnd = false
    private var finished = false
    private var failure: MCAPError?

    // Records decided but not handed out yet, first in first out.
    private var queue: [Record] = []
    private var queueHead = 0
    // Indexed path state: locations by offset.
    private var plan: [(offset: Int64, length: Int64, op: Opcode)] = []
    private var planIndex = 0
    private var seenSchemas = Set<UInt16>()
    private var seenChannels = Set<UInt16>()
    /// Summary channels waiting for their schema (or their first message).
    private var deferredChannels: [UInt16: Channel] = [:]
    // Log-time order: chunks by message_start_time, and the messages of those opened so far.
    private var chunkQueue: [ChunkIndex] = []
    private var chunkQueueIndex = 0
    private var openChunks: [(messages: [Message], cursor: Int, offset: Int64, bytes: UInt64)] = []
    private var heldChunkBytes: UInt64 = 0

    public init(path: String, options: Options = Options()) throws {
        self.options = options
        input = try FileInput(path: path)
        guard input.size >= Int64(mcapMagic.count) else {
            throw MCAPError(.notMCAP, "\(path) is \(input.size) bytes, too short for the MCAP magic",
                            offset: 0, messagesRead: 0, bytesReadable: 0)
        }
        let magic = Array(try input.read(mcapMagic.count))
        guard magic == mcapMagic else {
            throw MCAPError(.notMCAP, "\(path) does not start with the MCAP magic", offset: 0,
                            messagesRead: 0, bytesReadable: 0)
        }
        // Spec "Header": the first record after the magic.
        guard input.remaining >= Int64(recordPrefixSize) else {
            throw MCAPError(.truncated, "file ends before the Header record", offset: input.position,
                            messagesRead: 0, bytesReadable: input.position)
        }
        let prefix = try input.read(recordPrefixSize)
        let op = prefix[0]
        let length = UInt64(littleEndian: prefix.loadUnaligned(fromByteOffset: 1, as: UInt64.self))
        guard op == Opcode.header.rawValue else {
            throw MCAPError(.malformed, "first record has opcode 0x\(String(op, radix: 16)), expected Header (0x01)",
                            offset: 8, messagesRead: 0, bytesReadable: 8)
        }
        guard length <= UInt64(input.remaining) else {
            throw MCAPError(.truncated, "Header declares \(length) bytes, \(input.remaining) remain",
                            offset: 8, messagesRead: 0, bytesReadable: 8)
        }
        let content = try input.read(Int(length))
        var r = FieldReader(content, record: "Header", baseOffset: 8 + Int64(recordPrefixSize))
        header = try Header(decoding: &r)
        bytesReadable = input.position
        if options.useIndex, let summary = try? readSummary(), !summary.chunkIndexes.isEmpty {
            startIndexed(summary)
        } else {
            // The data section CRC covers everything from the file start (spec "Data End").
            input.crc = CRC32()
            input.crc.update(mcapMagic)
            // The exact header bytes as they are in the file.
            let raw = try input.read(at: 8, count: recordPrefixSize + Int(length))
            input.crc.update(raw)
            input.crcEnabled = options.validateCRCs
        }
    }

    // MARK: Summary

    /// The summary section via the footer, or nil when the file has none (`summary_start` 0).
    /// Throws when the file does not end with a footer and magic (truncated or still open).
    public func readSummary() throws -> Summary? {
        if let cached = summaryCache { return cached }
        let footerOffset = input.size - Int64(mcapMagic.count) - Int64(Footer.recordSize)
        guard footerOffset >= 8 else {
            throw MCAPError(.truncated, "file is \(input.size) bytes, too short for a footer", offset: input.size)
        }
        let tail = try input.read(at: footerOffset, count: Footer.recordSize + mcapMagic.count)
        guard Array(tail[Footer.recordSize...]) == mcapMagic else {
            throw MCAPError(.truncated, "file does not end with the MCAP magic (cut short or still being written)",
                            offset: input.size)
        }
        guard tail[0] == Opcode.footer.rawValue,
              tail.withUnsafeBytes({ UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 1, as: UInt64.self)) }) == 20
        else {
            throw MCAPError(.malformed, "no Footer record before the trailing magic", offset: footerOffset)
        }
        let footer = try tail.withUnsafeBytes { p in
            var r = FieldReader(UnsafeRawBufferPointer(rebasing: p[recordPrefixSize..<Footer.recordSize]),
                                record: "Footer", baseOffset: footerOffset + Int64(recordPrefixSize))
            return try Footer(decoding: &r)
        }
        guard footer.summaryStart != 0 else {
            summaryCache = .some(nil)
            return nil
        }
        guard footer.summaryStart >= 8, footer.summaryStart <= UInt64(footerOffset) else {
            throw MCAPError(.malformed, "summary_start \(footer.summaryStart) lies outside the file", offset: footerOffset)
        }
        let start = Int64(footer.summaryStart)
        let bytes = try input.read(at: start, count: Int(footerOffset - start))
        if options.validateCRCs && footer.summaryCRC != 0 {
            // Spec "Footer": from the summary start through summary_offset_start.
            var crc = CRC32()
            crc.update(bytes)
            tail.withUnsafeBytes { crc.update(UnsafeRawBufferPointer(rebasing: $0[0..<(recordPrefixSize + 16)])) }
            guard crc.value == footer.summaryCRC else {
                throw MCAPError(.crcMismatch, "summary CRC: stored \(footer.summaryCRC), computed \(crc.value)",
                                offset: start)
            }
        }
        var summary = Summary(footer: footer)
        try bytes.withUnsafeBytes { p in
            var cursor = 0
            while cursor < p.count {
                let at = start + Int64(cursor)
                guard p.count - cursor >= recordPrefixSize else {
                    throw MCAPError(.malformed, "partial record in the summary section", offset: at)
                }
                let op = p[cursor]
                let length = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: cursor + 1, as: UInt64.self))
                guard length <= UInt64(p.count - cursor - recordPrefixSize) else {
                    throw MCAPError(.malformed, "summary record 0x\(String(op, radix: 16)) declares \(length) bytes beyond the footer",
                                    offset: at)
                }
                let body = UnsafeRawBufferPointer(rebasing: p[(cursor + recordPrefixSize)..<(cursor + recordPrefixSize + Int(length))])
                cursor += recordPrefixSize + Int(length)
                switch Opcode(rawValue: op) {
                case .schema:
                    var r = FieldReader(body, record: "Schema", baseOffset: at + 9)
                    let s = try Schema(decoding: &r)
                    if s.id != 0 { summary.schemas[s.id] = s }
                case .channel:
                    var r = FieldReader(body, record: "Channel", baseOffset: at + 9)
                    let c = try Channel(decoding: &r)
                    summary.channels[c.id] = c
                case .chunkIndex:
                    var r = FieldReader(body, record: "ChunkIndex", baseOffset: at + 9)
                    summary.chunkIndexes.append(try ChunkIndex(decoding: &r))
                case .attachmentIndex:
                    var r = FieldReader(body, record: "AttachmentIndex", baseOffset: at + 9)
                    summary.attachmentIndexes.append(try AttachmentIndex(decoding: &r))
                case .metadataIndex:
                    var r = FieldReader(body, record: "MetadataIndex", baseOffset: at + 9)
                    summary.metadataIndexes.append(try MetadataIndex(decoding: &r))
                case .statistics:
                    var r = FieldReader(body, record: "Statistics", baseOffset: at + 9)
                    summary.statistics = try Statistics(decoding: &r)
                case .summaryOffset:
                    var r = FieldReader(body, record: "SummaryOffset", baseOffset: at + 9)
                    summary.summaryOffsets.append(try SummaryOffset(decoding: &r))
                default:
                    break  // unknown or data-only records: skipped (spec "Records").
                }
            }
        }
        summaryCache = .some(summary)
        return summary
    }

    // MARK: Reading records

    /// The next record, nil at the end of the file. After an error every later call throws it
    /// again.
    public func next() throws -> Record? {
        if let failure { throw failure }
        do {
            while true {
                if queueHead < queue.count {
                    let record = queue[queueHead]
                    queueHead += 1
                    if queueHead == queue.count {
                        queue.removeAll(keepingCapacity: true)
                        queueHead = 0
                    }
                    return record
                }
                if chunkCursor < chunkEnd, let record = try nextInChunk() { return handOut(record) }
                switch mode {
                case .indexed:
                    if planIndex < plan.count {
                        if let record = try nextIndexed() { return handOut(record) }
                    } else if options.order == .logTime {
                        guard let step = try nextByLogTime() else { return nil }
                        if let m = step { return handOut(.message(m)) }
                    } else {
                        return nil
                    }
                case .linear:
                    if finished { return nil }
                    if let record = try nextLinear() { return handOut(record) }
                }
            }
        } catch var error as MCAPError {
            if error.messagesRead == nil { error.messagesRead = messagesRead }
            if error.bytesReadable == nil { error.bytesReadable = bytesReadable }
            failure = error
            throw error
        }
    }

    private func startIndexed(_ summary: Summary) {
        mode = .indexed
        // Schemas first (by id), then the channels whose schema is known (by id). A channel
        // naming a schema the summary lacks waits for it (type comment).
        queue = summary.schemas.keys.sorted().compactMap { summary.schemas[$0].map(Record.schema) }
        seenSchemas = Set(summary.schemas.keys)
        for id in summary.channels.keys.sorted() {
            guard let c = summary.channels[id] else { continue }
            if c.schemaId == 0 || seenSchemas.contains(c.schemaId) {
                queue.append(.channel(c))
                seenChannels.insert(id)
            } else {
                deferredChannels[id] = c
            }
        }
        plan = summary.metadataIndexes.map { (Int64(bitPattern: $0.offset), Int64(bitPattern: $0.length), .metadata) }
            + summary.attachmentIndexes.map { (Int64(bitPattern: $0.offset), Int64(bitPattern: $0.length), .attachment) }
        if options.order == .logTime {
            chunkQueue = summary.chunkIndexes.sorted {
                ($0.messageStartTime, $0.chunkStartOffset) < ($1.messageStartTime, $1.chunkStartOffset)
            }
        } else {
            plan += summary.chunkIndexes.map { (Int64(bitPattern: $0.chunkStartOffset), Int64(bitPattern: $0.chunkLength), .chunk) }
        }
        plan.sort { $0.offset < $1.offset }
    }

    /// Takes a record on its way out: a new Schema releases the channels waiting for it (right
    /// after it), a Message on a waiting channel is preceded by that Channel.
    private func handOut(_ record: Record) -> Record {
        switch record {
        case .schema(let s):
            if !deferredChannels.isEmpty {
                for id in deferredChannels.keys.sorted() where deferredChannels[id]?.schemaId == s.id {
                    if let c = deferredChannels.removeValue(forKey: id), seenChannels.insert(id).inserted {
                        queue.append(.channel(c))
                    }
                }
            }
            return record
        case .channel(let c):
            deferredChannels[c.id] = nil
            return record
        case .message(let m):
            messagesRead += 1
            if let c = deferredChannels.removeValue(forKey: m.channelId) {
                seenChannels.insert(c.id)
                queue.append(record)
                return .channel(c)
            }
            return record
        default:
            return record
        }
    }

    /// Log-time order: the next message across chunks, `.some(nil)` when a chunk was opened
    /// (its schemas and channels are queued), nil at the end. A chunk is opened once no open
    /// chunk holds a message earlier than its message_start_time.
    private func nextByLogTime() throws -> Message?? {
        var best = -1
        for i in openChunks.indices {
            let c = openChunks[i]
            // Equal log times: the chunk earlier in the file first.
            if best < 0 || (c.messages[c.cursor].logTime, c.offset)
                < (openChunks[best].messages[openChunks[best].cursor].logTime, openChunks[best].offset) {
                best = i
            }
        }
        if chunkQueueIndex < chunkQueue.count,
           best < 0 || chunkQueue[chunkQueueIndex].messageStartTime <= openChunks[best].messages[openChunks[best].cursor].logTime {
            let index = chunkQueue[chunkQueueIndex]
            chunkQueueIndex += 1
            let offset = Int64(bitPattern: index.chunkStartOffset)
            // Overflow-free: each size was checked against maxChunkSize when declared.
            guard index.uncompressedSize <= options.maxHeldChunkBytes,
                  heldChunkBytes <= options.maxHeldChunkBytes - index.uncompressedSize else {
                throw MCAPError(.overLimit, "log-time order would hold more than \(options.maxHeldChunkBytes) bytes of chunks overlapping in time (chunk at offset \(offset)); read this file in file order",
                                offset: offset)
            }
            _ = try readIndexed((offset, Int64(bitPattern: index.chunkLength), .chunk))
            // What the chunk itself declares counts, whatever its index said.
            let size = UInt64(max(chunkEnd, 0))
            guard heldChunkBytes <= options.maxHeldChunkBytes, size <= options.maxHeldChunkBytes - heldChunkBytes else {
                throw MCAPError(.overLimit, "log-time order would hold more than \(options.maxHeldChunkBytes) bytes of chunks overlapping in time (chunk at offset \(offset)); read this file in file order",
                                offset: offset)
            }
            var messages: [Message] = []
            while chunkCursor < chunkEnd, let record = try nextInChunk() {
                if case .message(let m) = record {
                    messages.append(m)
                } else {
                    // handOut appends what it releases; the record itself goes before that.
                    let at = queue.count
                    let first = handOut(record)
                    queue.insert(first, at: at)
                }
            }
            if !messages.isEmpty {
                // Stable: equal log times keep their order in the chunk.
                let sorted = messages.enumerated().sorted { ($0.element.logTime, $0.offset) < ($1.element.logTime, $1.offset) }
                openChunks.append((sorted.map(\.element), 0, offset, size))
                heldChunkBytes += size
            }
            return .some(nil)
        }
        guard best >= 0 else { return nil }
        let m = openChunks[best].messages[openChunks[best].cursor]
        openChunks[best].cursor += 1
        if openChunks[best].cursor == openChunks[best].messages.count {
            heldChunkBytes -= openChunks[best].bytes
            openChunks.remove(at: best)
        }
        return .some(m)
    }

    private func nextIndexed() throws -> Record? {
        let item = plan[planIndex]
        planIndex += 1
        return try readIndexed(item)
    }

    /// Reads and decodes the record the summary locates (a Chunk is opened).
    private func readIndexed(_ item: (offset: Int64, length: Int64, op: Opcode)) throws -> Record? {
        guard item.length >= Int64(recordPrefixSize), item.offset >= 8 else {
            throw MCAPError(.malformed, "summary index points at \(item.length) bytes at offset \(item.offset)",
                            offset: item.offset)
        }
        let bytes = try input.read(at: item.offset, count: Int(item.length))
        guard bytes[0] == item.op.rawValue else {
            throw MCAPError(.malformed, "summary index expects opcode 0x\(String(item.op.rawValue, radix: 16)) at offset \(item.offset), found 0x\(String(bytes[0], radix: 16))",
                            offset: item.offset)
        }
        let length = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 1, as: UInt64.self)) }
        guard length == UInt64(item.length) - UInt64(recordPrefixSize) else {
            throw MCAPError(.malformed, "record at offset \(item.offset) is \(length) bytes, its index says \(item.length - 9)",
                            offset: item.offset)
        }
        let record = try bytes.withUnsafeBytes { p -> Record? in
            let body = UnsafeRawBufferPointer(rebasing: p[recordPrefixSize...])
            return try decodeOuter(item.op, body, at: item.offset)
        }
        bytesReadable = max(bytesReadable, item.offset + item.length)
        return record
    }

    private func nextLinear() throws -> Record? {
        let at = input.position
        let crcBefore = input.crc
        guard input.remaining > 0 else {
            throw MCAPError(.truncated, "file ends after \(at) bytes without a Footer record", offset: at)
        }
        guard input.remaining >= Int64(recordPrefixSize) else {
            throw MCAPError(.truncated, "file ends inside a record header (\(input.remaining) of 9 bytes)", offset: at)
        }
        let prefix = try input.read(recordPrefixSize)
        let op = prefix[0]
        let length = UInt64(littleEndian: prefix.loadUnaligned(fromByteOffset: 1, as: UInt64.self))
        guard length <= UInt64(input.remaining) else {
            throw MCAPError(.truncated, "\(recordName(op)) record declares \(length) bytes but only \(input.remaining) remain",
                            offset: at)
        }
        let body = try input.read(Int(length))
        let opcode = Opcode(rawValue: op)
        switch opcode {
        case .footer:
            var r = FieldReader(body, record: "Footer", baseOffset: at + 9)
            let footer = try Footer(decoding: &r)
            if options.validateCRCs && afterDataEnd && footer.summaryStart != 0 && footer.summaryCRC != 0 {
                // Spec "Footer": the summary CRC runs from the summary start through the footer's
                // summary_offset_start field; `crcBefore` holds it up to this record.
                var crc = crcBefore
                var head = ByteWriter()
                head.u8(op)
                head.u64(length)
                head.u64(footer.summaryStart)
                head.u64(footer.summaryOffsetStart)
                crc.update(head.bytes)
                guard crc.value == footer.summaryCRC else {
                    throw MCAPError(.crcMismatch, "summary CRC: stored \(footer.summaryCRC), computed \(crc.value)",
                                    offset: at)
                }
            }
            input.crcEnabled = false
            guard input.remaining >= Int64(mcapMagic.count) else {
                throw MCAPError(.truncated, "file ends after the Footer without the trailing magic", offset: input.position)
            }
            let magic = Array(try input.read(mcapMagic.count))
            guard magic == mcapMagic else {
                throw MCAPError(.malformed, "Footer is not followed by the MCAP magic", offset: input.position - 8)
            }
            finished = true
            bytesReadable = input.position
            return nil
        case .dataEnd:
            var r = FieldReader(body, record: "DataEnd", baseOffset: at + 9)
            let dataEnd = try DataEnd(decoding: &r)
            if options.validateCRCs && dataEnd.dataSectionCRC != 0 && crcBefore.value != dataEnd.dataSectionCRC {
                throw MCAPError(.crcMismatch, "data section CRC: stored \(dataEnd.dataSectionCRC), computed \(crcBefore.value)",
                                offset: at)
            }
            afterDataEnd = true
            // From here the running CRC covers the summary section (checked at the Footer).
            input.crc = CRC32()
            bytesReadable = input.position
            return nil
        default:
            // After Data End come summary records, which repeat the data section's: skipped.
            let record = afterDataEnd ? nil : try decodeOuter(opcode, body, at: at)
            bytesReadable = input.position
            return record
        }
    }

    /// Decodes a data-section record; a Chunk is opened and yields nothing itself.
    private func decodeOuter(_ op: Opcode?, _ body: UnsafeRawBufferPointer, at: Int64) throws -> Record? {
        switch op {
        case .schema:
            var r = FieldReader(body, record: "Schema", baseOffset: at + 9)
            let s = try Schema(decoding: &r)
            guard s.id != 0, seenSchemas.insert(s.id).inserted else { return nil }
            return .schema(s)
        case .channel:
            var r = FieldReader(body, record: "Channel", baseOffset: at + 9)
            let c = try Channel(decoding: &r)
            guard seenChannels.insert(c.id).inserted else { return nil }
            return .channel(c)
        case .message:
            var r = FieldReader(body, record: "Message", baseOffset: at + 9)
            return .message(try Message(decoding: &r))
        case .metadata:
            var r = FieldReader(body, record: "Metadata", baseOffset: at + 9)
            return .metadata(try Metadata(decoding: &r))
        case .attachment:
            var r = FieldReader(body, record: "Attachment", baseOffset: at + 9)
            return .attachment(try Attachment(decoding: &r, validateCRC: options.validateCRCs))
        case .chunk:
            try openChunk(body, at: at)
            return nil
        default:
            return nil  // indexes, statistics, unknown opcodes: skipped (spec "Records").
        }
    }

    private func openChunk(_ body: UnsafeRawBufferPointer, at: Int64) throws {
        var r = FieldReader(body, record: "Chunk", baseOffset: at + 9)
        let (h, records) = try ChunkHeader.decode(&r)
        guard h.uncompressedSize <= options.maxChunkSize else {
            throw MCAPError(.malformed, "chunk declares \(h.uncompressedSize) uncompressed bytes, above the \(options.maxChunkSize)-byte limit",
                            offset: at)
        }
        let size = Int(h.uncompressedSize)
        try decompressor.decompress(h.compression, UnsafeRawBufferPointer(rebasing: body[records]),
                                    uncompressedSize: size, offset: at)
        if options.validateCRCs && h.uncompressedCRC != 0 {
            let crc = decompressor.output.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<size])) }
            guard crc == h.uncompressedCRC else {
                throw MCAPError(.crcMismatch, "chunk uncompressed_crc: stored \(h.uncompressedCRC), computed \(crc)", offset: at)
            }
        }
        chunkCursor = 0
        chunkEnd = size
        chunkOffset = at
    }

    private func nextInChunk() throws -> Record? {
        try decompressor.output.withUnsafeBytes { p -> Record? in
            while chunkCursor < chunkEnd {
                let inner = chunkCursor
                guard chunkEnd - inner >= recordPrefixSize else {
                    throw MCAPError(.malformed, "chunk ends inside a record header at inner offset \(inner)", offset: chunkOffset)
                }
                let op = p[inner]
                let length = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: inner + 1, as: UInt64.self))
                guard length <= UInt64(chunkEnd - inner - recordPrefixSize) else {
                    throw MCAPError(.malformed, "\(recordName(op)) record at inner offset \(inner) declares \(length) bytes beyond the chunk",
                                    offset: chunkOffset)
                }
                let body = UnsafeRawBufferPointer(rebasing: p[(inner + recordPrefixSize)..<(inner + recordPrefixSize + Int(length))])
                chunkCursor = inner + recordPrefixSize + Int(length)
                switch Opcode(rawValue: op) {
                case .schema, .channel, .message:
                    if let record = try decodeOuter(Opcode(rawValue: op), body, at: chunkOffset) { return record }
                default:
                    continue  // only Schema, Channel, Message belong in a chunk (spec "Chunk"); others skipped.
                }
            }
            return nil
        }
    }

    private func recordName(_ op: UInt8) -> String {
        if let o = Opcode(rawValue: op) { return "\(o) (0x\(String(op, radix: 16)))" }
        return "opcode 0x\(String(op, radix: 16))"
    }
}
