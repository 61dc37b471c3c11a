import Foundation
import Logging
import TrackModel

/// The process's one log handler: a line per message on standard error, as text for a person
/// (`record: joined room 'lab' …`, the level named only from warning up or below info) or as
/// one JSON object for a log collector (`time`, `level`, `label`, `message`, then metadata).
struct OperatorLogHandler: LogHandler {
    let label: String
    let format: LogFormat
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String, format: LogFormat) {
        self.label = label
        self.format = format
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = self.metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let line = Self.render(format: format, label: label, level: event.level, message: "\(event.message)",
                               metadata: all, unixNs: UnixTime.nowNs())
        StandardErrorScreen.shared.write(line)
    }

    static func render(format: LogFormat, label: String, level: Logger.Level, message: String,
                       metadata: Logger.Metadata, unixNs: Int64) -> String {
        switch format {
        case .text:
            var line = "\(label): "
            if level >= .warning || level < .info { line += "\(level.rawValue): " }
            line += message
            for (key, value) in metadata.sorted(by: { $0.key < $1.key }) { line += " \(key)=\(value)" }
            return line
        case .json:
            var object: [String: Any] = [
                "time": UnixTime.iso8601(ns: unixNs), "level": level.rawValue, "label": label, "message": message,
            ]
            for (key, value) in metadata where object[key] == nil { object[key] = "\(value)" }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
    }
}
