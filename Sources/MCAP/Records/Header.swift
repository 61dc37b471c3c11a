/// Header (op=0x01): the first record after the leading magic.
///
/// | Bytes | Name    | Type   | Description |
/// |-------|---------|--------|-------------|
/// | 4 + N | profile | String | Profile (`ros1`, `ros2`, or empty/custom) the file conforms to. |
/// | 4 + N | library | String | Free-form name and version of the writer. |
public struct Header: Sendable, Hashable {
    public var profile: String
    public var library: String
    public init(profile: String, library: String) {
        self.profile = profile
        self.library = library
    }

    init(decoding r: inout FieldReader) throws {
        profile = try r.string("profile")
        library = try r.string("library")
    }

    func encode(into w: inout ByteWriter) {
        let start = w.beginRecord(.header)
        w.string(profile)
        w.string(library)
        w.endRecord(start)
    }
}
