import ArgumentParser
import Foundation
import Pipeline
import Stages
import Synchronization
import TrackModel

/// `--quiet` and the status view's pace, for `record`, `play` and `run`.
struct StatusOptions: ParsableArguments {
    @Flag(help: "No status view (and, for run, no closing table): errors only.")
    var quiet = false
    @Option(help: ArgumentHelp("Seconds between status lines when standard error is not a terminal.",
                               discussion: "On a terminal the status block is redrawn 4 times a second."))
    var statusInterval: Double = 10

    func validate() throws {
        guard statusInterval > 0, statusInterval <= 3600 else { throw ValidationError("--status-interval must be 0…3600 seconds") }
    }

    /// Starts the view on standard error: a block redrawn in place on a terminal, a line every
    /// `--status-interval` seconds otherwise, nothing with `--quiet`. Cancel the task to stop it.
    func start(_ monitor: PipelineMonitor, title: String) -> Task<Void, Never>? {
        if quiet { return nil }
        let terminal = isatty(2) != 0
        let interval = terminal ? 0.25 : statusInterval
        return Task {
            var previous: PipelineSnapshot?
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
                if Task.isCancelled { break }
                guard let snapshot = await monitor.snapshot() else { continue }
                let status = StatusText(title: title, snapshot: snapshot, previous: previous)
                if terminal {
                    StandardErrorScreen.shared.draw(status.block())
                } else {
                    StandardErrorScreen.shared.write(status.line())
                }
                previous = snapshot
            }
            StandardErrorScreen.shared.clear()
        }
    }
}

extension StatusOptions {
    /// Stops the view and erases its block, so what the command prints next starts clean.
    func stop(_ view: Task<Void, Never>?) async {
        view?.cancel()
        await view?.value
    }
}

/// Standard error shared by the status block and log lines: a log line first erases the block
/// (it is redrawn below it at the next refresh), so the two never overwrite each other.
final class StandardErrorScreen: Sendable {
    static let shared = StandardErrorScreen()
    /// Lines of the block drawn last (0: none on screen).
    private let drawnLines = Mutex(0)

    /// A line of its own (a log line, or a status line when not on a terminal).
    func write(_ line: String) {
        drawnLines.withLock { drawn in
            emit(Self.erase(drawn) + line + "\n")
            drawn = 0
        }
    }

    /// Replaces the block on screen with `lines`.
    func draw(_ lines: [String]) {
        drawnLines.withLock { drawn in
            emit(Self.erase(drawn) + lines.map { $0 + "\u{1B}[K\n" }.joined())
            drawn = lines.count
        }
    }

    func clear() {
        drawnLines.withLock { drawn in
            if drawn > 0 { emit(Self.erase(drawn)) }
            drawn = 0
        }
    }

    /// Cursor up `lines` lines to column 1, then erase to the end of the screen (ECMA-48 CPL, ED).
    private static func erase(_ lines: Int) -> String { lines > 0 ? "\u{1B}[\(lines)F\u{1B}[J" : "" }

    private func emit(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// The status of a run in words: a block for a terminal, or one line for a log.
struct StatusText {
    let title: String
    let snapshot: PipelineSnapshot
    let previous: PipelineSnapshot?

    /// Most tracks listed in the block; the rest are summed in one line.
    static let maximumTracks = 12

    struct TrackRow {
        var key: TrackKey
        var figures: TrackFigures
        var rate: Double
    }

    /// The tracks of the stage that has per-track figures nearest the data's origin (a room
    /// source records, a republish sink replays), with their rate since the previous refresh.
    var tracks: [TrackRow] {
        guard let stage = snapshot.stages.first(where: { !$0.figures.tracks.isEmpty }) else { return [] }
        let before = previous?.stages.first { $0.name == stage.name }?.figures.tracks ?? [:]
        let seconds = snapshot.elapsedSeconds - (previous?.elapsedSeconds ?? 0)
        return stage.figures.tracks.sorted { $0.key < $1.key }.map { key, figures in
            let delta = figures.frames &- (before[key]?.frames ?? 0)
            return TrackRow(key: key, figures: figures, rate: seconds > 0 ? Double(delta) / seconds : 0)
        }
    }

    var dropped: UInt64 {
        snapshot.stages.reduce(0) { sum, stage in
            sum + stage.counters.framesDropped + stage.figures.untrackedDrops.values.reduce(0, +)
                + stage.figures.tracks.values.reduce(0) { $0 + $1.droppedTotal }
        }
    }

    var fileBytes: Double? {
        let sizes = snapshot.stages.compactMap { $0.figures.gauges["file_bytes"] }
        return sizes.isEmpty ? nil : sizes.reduce(0, +)
    }

    var replay: (position: Double, duration: Double)? {
        for stage in snapshot.stages {
            if let position = stage.figures.gauges["replay_position_seconds"],
               let duration = stage.figures.gauges["replay_duration_seconds"] {
                return (position, duration)
            }
        }
        return nil
    }

    /// A paced replay's rate and whether it is paused (what its keys and RPC methods set).
    var replayControl: (rate: Double, paused: Bool)? {
        for stage in snapshot.stages {
            if let rate = stage.figures.gauges["replay_rate"] {
                return (rate, stage.figures.gauges["replay_paused"] == 1)
            }
        }
        return nil
    }

    /// The first line of the block and the whole of a status line.
    var headline: String {
        var parts = ["\(title) \(Self.clock(snapshot.elapsedSeconds))"]
        if let replay {
            let fraction = replay.duration > 0 ? min(1, max(0, replay.position / replay.duration)) : 1
            parts.append("\(Self.clock(replay.position))/\(Self.clock(replay.duration)) \(Self.bar(fraction)) "
                         + String(format: "%3.0f%%", fraction * 100))
        }
        if let control = replayControl {
            parts.append((control.paused ? "paused  " : "") + "rate " + ReplayControl.rateText(control.rate))
        }
        if let fileBytes { parts.append("file " + Self.size(fileBytes)) }
        parts.append("dropped \(dropped)")
        return parts.joined(separator: "  ")
    }

    func block() -> [String] {
        var lines = [headline]
        let rows = tracks
        if !rows.isEmpty {
            lines.append("  track                                   frames    rate/s       bytes  dropped")
            for row in rows.prefix(Self.maximumTracks) {
                lines.append("  " + pad(row.key.description, 36) + right(String(row.figures.frames), 10)
                             + right(String(format: "%.1f", row.rate), 10) + right(Self.size(Double(row.figures.bytes)), 12)
                             + right(String(row.figures.droppedTotal), 9))
            }
            if rows.count > Self.maximumTracks {
                let rest = rows.dropFirst(Self.maximumTracks)
                lines.append("  … and \(rest.count) more track(s), \(rest.reduce(0) { $0 + $1.figures.frames }) frames")
            }
        }
        return lines
    }

    func line() -> String {
        let rows = tracks
        let frames = rows.reduce(0) { $0 + $1.figures.frames }
        let rate = rows.reduce(0) { $0 + $1.rate }
        return headline + "  tracks \(rows.count)  frames \(frames)" + String(format: " (%.1f/s)", rate)
    }

    static func clock(_ seconds: Double) -> String {
        let s = max(0, Int(seconds))
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%02d:%02d", s / 60, s % 60)
    }

    static func bar(_ fraction: Double, width: Int = 20) -> String {
        let filled = Int((fraction * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }

    static func size(_ bytes: Double) -> String {
        switch bytes {
        case ..<1e3: String(format: "%.0f B", bytes)
        case ..<1e6: String(format: "%.1f kB", bytes / 1e3)
        case ..<1e9: String(format: "%.1f MB", bytes / 1e6)
        default: String(format: "%.2f GB", bytes / 1e9)
        }
    }
}
