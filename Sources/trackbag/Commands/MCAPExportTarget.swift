import ArgumentParser
import Pipeline

/// The MCAP stages, once the MCAP module lands; until then export/import say so plainly.
enum MCAPExportTarget {
    static func sink(path: String) throws -> any SinkStage {
        throw ValidationError("MCAP export is not built yet")
    }
    static func source(path: String) throws -> any SourceStage {
        throw ValidationError("MCAP import is not built yet")
    }
}
