/// What the summary section says about a file (spec "Summary Section"): the schemas and
/// channels, statistics, and where chunks, attachments and metadata records are.
public struct Summary: Sendable {
    public var schemas: [UInt16: Schema] = [:]
    public var channels: [UInt16: Channel] = [:]
    public var statistics: Statistics?
    public var chunkIndexes: [ChunkIndex] = []
    public var attachmentIndexes: [AttachmentIndex] = []
    public var metadataIndexes: [MetadataIndex] = []
    public var summaryOffsets: [SummaryOffset] = []
    public var footer: Footer

    init(footer: Footer) { self.footer = footer }
}
