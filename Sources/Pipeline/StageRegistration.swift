import TrackModel

/// A built stage, ready for the runtime to own.
public enum BuiltStage: Sendable {
    case source(any SourceStage)
    case transform(any TransformStage)
    case sink(any SinkStage)
}

/// What a factory knows when it builds a stage.
public struct StageBuildContext: Sendable {
    /// The stage's name in the config (`sources.imu_in`), for error messages and counters.
    public var stageName: String
    /// The config file the stage came from, if any.
    public var configPath: String?
    /// Process environment, for options such as `token_env`.
    public var environment: [String: String]
    /// Folders of users' schema files: the config's top-level `schemas:` list (relative to the
    /// config file) and any `--schemas DIR`, for stages that resolve schema names (`decode`).
    public var schemaDirectories: [String]

    public init(stageName: String, configPath: String? = nil, environment: [String: String] = [:],
                schemaDirectories: [String] = []) {
        self.stageName = stageName
        self.configPath = configPath
        self.environment = environment
        self.schemaDirectories = schemaDirectories
    }
}

/// One row of the stage registry: the config `type`, its kind, and the factory that turns the
/// stage's options into a running stage. The registry is one explicit table (Plugins/Registry.swift).
public struct StageRegistration: Sendable {
    public var type: String
    public var kind: StageKind
    /// One line for `trackbag validate --list` and docs.
    public var summary: String
    public var build: @Sendable (StageOptions, StageBuildContext) throws -> BuiltStage
    /// A live source (room, network): its output edges default to `drop-oldest`, because real
    /// time wins over completeness; file sources default to `block`, because nothing may be lost
    /// offline (docs/ARCHITECTURE.md). Only meaningful for sources.
    public var isLive: Bool

    public init(type: String, kind: StageKind, summary: String, isLive: Bool = false,
                build: @escaping @Sendable (StageOptions, StageBuildContext) throws -> BuiltStage) {
        self.type = type
        self.kind = kind
        self.summary = summary
        self.isLive = isLive
        self.build = build
    }
}
