import Pipeline

/// Every built-in stage, by config `type`. One explicit table (docs/ARCHITECTURE.md, "Where to add things"): adding a stage
/// means adding its folder under Plugins/ and one line here.
public enum BuiltinStages {
    public static let all: [StageRegistration] = [
        RecordingSource.registration,
        RecordingSink.registration,
        JSONLinesSource.registration,
        JSONLinesSink.registration,
        Decode.registration,
        Filter.registration,
        Downsample.registration,
        Decrypt.registration,
        MCAPSource.registration,
        MCAPSink.registration,
        Rosbag2Source.registration,
        RoomSource.registration,
        RepublishSink.registration,
        SnapshotSink.registration,
    ]

    public static func registration(for type: String, kind: StageKind) -> StageRegistration? {
        all.first { $0.type == type && $0.kind == kind }
    }
}
