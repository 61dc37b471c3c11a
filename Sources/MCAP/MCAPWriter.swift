/// Writes an MCAP file (spec "File Structure"):
/// `Magic Header [Chunk MessageIndex…]… [Metadata]… DataEnd Summary SummaryOffsets Footer Magic`.
///
/// Messages go into chunks of about `chunkSize` uncompressed bytes (Schema and Channel records
/// too, written into the chunk open when they are added, so a linear reader meets them before
/// their first message). After each chunk come its Message Index records, one per channel.
/// The summary repeats every Schema and Channel, then Statistics, Chunk Indexes, Attachment
/// Indexes and Metadata Indexes, each group located by a Summary Offset record. All CRCs are
/// written: chunk `uncompressed_crc`, attachment `crc`, `data_section_crc`, `summary_crc`.
///
/// Not thread-safe: one owner (a sink actor) calls it. Memory stays flat: one chunk buffered.
public final class MCAPWriter {
    public struct Options: Sendable {
        public var compression: Compression
        /// zstd level (1 = fastest) or lz4 frame level (0 = fast default).
        public var compressionLevel: Int32
        /// Uncompressed bytes after which a chunk is closed.
        public var chunkSize: Int
        /// false writes Schema, Channel and Message records straight into the data section
        /// (no chunks, no message or chunk indexes).
        public var useChunks: Bool
        public var profile: String
        public var library: String

        public init(compression: Compression = .zstd, compressionLevel: Int32? = nil, chunkSize: Int = 1 << 20,
                    useChunks: Bool = true, profile: String = "", library: String = "trackbag") {
            self.compression = compression
            self.compressionLevel = compressionLevel ?? (compression == .zstd ? 1 : 0)
            self.chunkSize = chunkSize
            self.useChunks = useChunks
            self.profile = profile
            self.library = library
        }
    }

    public let options: Options
    private let output: FileOutput
    private let compressor: ChunkCompressor
    private var finished = false

    public private(set) var schemas: [Schema] = []
    public private(set) var channels: [Channel] = []
    /// false leaves Schema records out of the summary (they stay in the chunks), as some
    /// writers do; tests use it to check readers do not depend on summary schemas.
    var summaryHoldsSchemas = true
    private var statistics = Statistics()
    private var channelMessageCounts: [UInt64] = [0]   // indexed by channel id

    // The open chunk.
    private var chunk = ByteWriter()
    private var chunkStartTime = UInt64.max
    private var chunkEndTime: UInt64 = 0
    private var chunkMessageCount = 0
    /// Channel id → slot in `indexEntries`, -1 when the channel has no message in this chunk.
    private var indexSlot: [Int32] = [-1]
    private var indexChannels: [UInt16] = []
    /// Per slot: flat `[log_time, offset, log_time, offset…]`.
    private var indexEntries: [[UInt64]] = []

    private var chunkIndexes: [ChunkIndex] = []
    private var attachmentIndexes: [AttachmentIndex] = []
    private var metadataIndexes: [MetadataIndex] = []
    private var scratch = ByteWriter()

    public init(path: String, options: Options = Options()) throws {
        guard options.chunkSize > 0 else {
            throw MCAPError(.invalidArgument, "chunk size must be positive, got \(options.chunkSize)")
        }
        self.options = options
        output = try FileOutput(path: path)
        compressor = ChunkCompressor(options.compression, level: options.compressionLevel)
        chunk.bytes.reserveCapacity(options.chunkSize + (64 << 10))
        try output.write(mcapMagic)
        var w = ByteWriter()
        Header(profile: options.profile, library: options.library).encode(into: &w)
        try output.write(w.bytes)
    }

    /// Bytes written to the file so far (excluding the open chunk).
    public var bytesWritten: Int64 { output.position }

    /// Registers a schema and returns its id (1, 2, …). Schemas with equal fields are not
    /// deduplicated here; callers keep their own map.
    public func addSchema(name: String, encoding: String, data: [UInt8]) throws -> UInt16 {
        guard schemas.count < Int(UInt16.max) else {
            throw MCAPError(.invalidArgument, "more than 65535 schemas")
        }
        let schema = Schema(id: UInt16(schemas.count + 1), name: name, encoding: encoding, data: data)
        schemas.append(schema)
        try writeDefinition { schema.encode(into: &$0) }
        return schema.id
    }

    /// Registers a channel and returns its id (1, 2, …). `schemaId` 0 means no schema.
    public func addChannel(topic: String, messageEncoding: String, schemaId: UInt16 = 0,
                           metadata: [String: String] = [:]) throws -> UInt16 {
        guard channels.count < Int(UInt16.max) else {
            throw MCAPError(.invalidArgument, "more than 65535 channels")
        }
        guard schemaId == 0 || Int(schemaId) <= schemas.count else {
            throw MCAPError(.invalidArgument, "channel '\(topic)' refers to unknown schema \(schemaId)")
        }
        let channel = Channel(id: UInt16(channels.count + 1), schemaId: schemaId, topic: topic,
                              messageEncoding: messageEncoding, metadata: metadata)
        channels.append(channel)
        channelMessageCounts.append(0)
        indexSlot.append(-1)
        try writeDefinition { channel.encode(into: &$0) }
        return channel.id
    }

    private func writeDefinition(_ encode: (inout ByteWriter) -> Void) throws {
        if options.useChunks {
            encode(&chunk)
        } else {
            scratch.bytes.removeAll(keepingCapacity: true)
            encode(&scratch)
            try output.write(scratch.bytes)
        }
    }

    public func addMessage(channelId: UInt16, sequence: UInt32, logTime: UInt64, publishTime: UInt64,
                           data: [UInt8]) throws {
        try data.withUnsafeBytes {
            try addMessage(channelId: channelId, sequence: sequence, logTime: logTime,
                           publishTime: publishTime, data: $0)
        }
    }

    public func addMessage(channelId: UInt16, sequence: UInt32, logTime: UInt64, publishTime: UInt64,
                           data: UnsafeRawBufferPointer) throws {
        let id = Int(channelId)
        guard id >= 1, id <= channels.count else {
            throw MCAPError(.invalidArgument, "message on unknown channel \(channelId)")
        }
        guard !finished else { throw MCAPError(.invalidArgument, "writer is finished") }
        channelMessageCounts[id] &+= 1
        statistics.messageCount += 1
        if statistics.messageCount == 1 || logTime < statistics.messageStartTime {
            statistics.messageStartTime = logTime
        }
        if logTime > statistics.messageEndTime { statistics.messageEndTime = logTime }

        guard options.useChunks else {
            scratch.bytes.removeAll(keepingCapacity: true)
            Message.encode(channelId: channelId, sequence: sequence, logTime: logTime,
                           publishTime: publishTime, data: data, into: &scratch)
            try output.write(scratch.bytes)
            return
        }
        var slot = Int(indexSlot[id])
        if slot < 0 {
            slot = indexChannels.count
            indexSlot[id] = Int32(slot)
            indexChannels.append(channelId)
            if indexEntries.count <= slot { indexEntries.append([]) }
        }
        indexEntries[slot].append(logTime)
        indexEntries[slot].append(UInt64(chunk.count))
        Message.encode(channelId: channelId, sequence: sequence, logTime: logTime,
                       publishTime: publishTime, data: data, into: &chunk)
        chunkMessageCount += 1
        if logTime < chunkStartTime { chunkStartTime = logTime }
        if logTime > chunkEndTime { chunkEndTime = logTime }
        if chunk.count >= options.chunkSize { try flushChunk() }
    }

    /// Writes a Metadata record in the data section (between chunks) and indexes it.
    public func addMetadata(_ metadata: Metadata) throws {
        scratch.bytes.removeAll(keepingCapacity: true)
        metadata.encode(into: &scratch)
        metadataIndexes.append(MetadataIndex(offset: UInt64(output.position), length: UInt64(scratch.count),
                                             name: metadata.name))
        try output.write(scratch.bytes)
        statistics.metadataCount += 1
    }

    /// Writes an Attachment record in the data section and indexes it.
    public func addAttachment(_ attachment: Attachment) throws {
        scratch.bytes.removeAll(keepingCapacity: true)
        attachment.encode(into: &scratch)
        attachmentIndexes.append(AttachmentIndex(
            offset: UInt64(output.position), length: UInt64(scratch.count), logTime: attachment.logTime,
            createTime: attachment.createTime, dataSize: UInt64(attachment.data.count),
            name: attachment.name, mediaType: attachment.mediaType))
        try output.write(scratch.bytes)
        statistics.attachmentCount += 1
    }

    /// Compresses and writes the open chunk and its message indexes (spec "Chunk",
    /// "Message Index"), and remembers its Chunk Index for the summary.
    public func flushChunk() throws {
        guard options.useChunks, chunk.count > 0 else { return }
        let crc = CRC32.checksum(chunk.bytes)
        let compressedSize = try chunk.bytes.withUnsafeBytes { try compressor.compress($0) }
        let header = ChunkHeader(messageStartTime: chunkMessageCount > 0 ? chunkStartTime : 0,
                                 messageEndTime: chunkMessageCount > 0 ? chunkEndTime : 0,
                                 uncompressedSize: UInt64(chunk.count), uncompressedCRC: crc,
                                 compression: options.compression.rawValue)
        let chunkStart = output.position
        scratch.bytes.removeAll(keepingCapacity: true)
        header.encodePrefix(recordsLength: compressedSize, into: &scratch)
        try output.write(scratch.bytes)
        try compressor.output.withUnsafeBytes {
            try output.write(UnsafeRawBufferPointer(rebasing: $0[0..<compressedSize]))
        }
        let chunkLength = output.position - chunkStart

        let indexStart = output.position
        var offsets: [UInt16: UInt64] = [:]
        for (slot, channelId) in indexChannels.enumerated() {
            offsets[channelId] = UInt64(output.position)
            scratch.bytes.removeAll(keepingCapacity: true)
            MessageIndex.encode(channelId: channelId, flat: indexEntries[slot], into: &scratch)
            try output.write(scratch.bytes)
            indexEntries[slot].removeAll(keepingCapacity: true)
            indexSlot[Int(channelId)] = -1
        }
        chunkIndexes.append(ChunkIndex(
            messageStartTime: header.messageStartTime, messageEndTime: header.messageEndTime,
            chunkStartOffset: UInt64(chunkStart), chunkLength: UInt64(chunkLength),
            messageIndexOffsets: offsets, messageIndexLength: UInt64(output.position - indexStart),
            compression: header.compression, compressedSize: UInt64(compressedSize),
            uncompressedSize: header.uncompressedSize))
        statistics.chunkCount += 1
        indexChannels.removeAll(keepingCapacity: true)
        chunk.bytes.removeAll(keepingCapacity: true)
        chunkStartTime = .max
        chunkEndTime = 0
        chunkMessageCount = 0
    }

    /// Closes the data section and writes summary, summary offsets, footer and magic.
    public func finish() throws {
        guard !finished else { return }
        try flushChunk()
        finished = true
        var w = ByteWriter()
        DataEnd(dataSectionCRC: output.crc.value).encode(into: &w)
        try output.write(w.bytes)

        // Summary (spec "Summary Section"): records grouped by opcode, Channels before Statistics.
        let summaryStart = UInt64(output.position)
        var summary = ByteWriter()
        var offsets: [SummaryOffset] = []
        func group(_ op: Opcode, _ body: (inout ByteWriter) -> Void) {
            let start = summary.count
            body(&summary)
            if summary.count > start {
                offsets.append(SummaryOffset(groupOpcode: op.rawValue, groupStart: summaryStart + UInt64(start),
                                             groupLength: UInt64(summary.count - start)))
            }
        }
        if summaryHoldsSchemas { group(.schema) { w in for s in schemas { s.encode(into: &w) } } }
        group(.channel) { w in for c in channels { c.encode(into: &w) } }
        statistics.schemaCount = UInt16(schemas.count)
        statistics.channelCount = UInt32(channels.count)
        var counts: [UInt16: UInt64] = [:]
        for c in channels { counts[c.id] = channelMessageCounts[Int(c.id)] }
        statistics.channelMessageCounts = counts
        group(.statistics) { w in statistics.encode(into: &w) }
        group(.chunkIndex) { w in for c in chunkIndexes { c.encode(into: &w) } }
        group(.attachmentIndex) { w in for a in attachmentIndexes { a.encode(into: &w) } }
        group(.metadataIndex) { w in for m in metadataIndexes { m.encode(into: &w) } }

        let summaryOffsetStart = summaryStart + UInt64(summary.count)
        for o in offsets { o.encode(into: &summary) }
        // Footer: summary_crc covers the summary, the summary offsets and the footer's first
        // two fields (spec "Footer").
        var footer = ByteWriter()
        footer.u8(Opcode.footer.rawValue)
        footer.u64(20)
        footer.u64(summary.count > 0 ? summaryStart : 0)
        footer.u64(offsets.isEmpty ? 0 : summaryOffsetStart)
        var crc = CRC32()
        crc.update(summary.bytes)
        crc.update(footer.bytes)
        footer.u32(crc.value)
        try output.write(summary.bytes)
        try output.write(footer.bytes)
        try output.write(mcapMagic)
        try output.closeFile()
    }
}
