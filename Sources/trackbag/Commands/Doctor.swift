import ArgumentParser
import Foundation
import Recording

/// `trackbag doctor FILE [--repair] [--out PATH]`: check every chunk; recover what decodes.
struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check a recording deeply (SQLite integrity, every chunk decodes, counts match); --repair recovers it.",
        discussion: """
            Exit status: 0 when the file is healthy or was repaired, 1 when problems remain.
            --repair never modifies FILE: it writes every decodable chunk, track and event into a new
            file (default FILE with extension .repaired.tbag) and reports what was lost.
            """)

    @Argument(help: "The .tbag file.")
    var file: String

    @Flag(help: "Write a repaired copy holding everything that can be recovered.")
    var repair = false

    @Option(help: "Where --repair writes (default: FILE.repaired.tbag beside FILE).")
    var out: String?

    func run() async throws {
        var healthy = false
        do {
            let report = try RecordingDoctor.check(path: file)
            print("\(file): checked \(report.chunksChecked) chunks, \(report.framesChecked) frames")
            for p in report.problems { print("  problem: \(file): \(p.place): \(p.message)") }
            healthy = report.isHealthy
            print(healthy ? "\(file): ok" : "\(file): \(report.problems.count) problem(s)")
        } catch let e as RecordingError {
            print("\(e)")
            if e.kind == .newerVersion || e.kind == .io { throw ExitCode(1) }
        }
        guard repair else {
            if !healthy {
                if !repair { print("run 'trackbag doctor \(file) --repair' to recover what can be recovered") }
                throw ExitCode(1)
            }
            return
        }
        let output = out ?? Self.defaultRepairPath(file)
        let r = try RecordingDoctor.repair(path: file, output: output)
        print("repaired into \(output): \(r.chunksRecovered) chunks, \(r.framesRecovered) frames, \(r.eventsRecovered) events recovered")
        print("lost: \(r.chunksLost) chunks, \(r.framesLost) frames" + (r.lost.isEmpty ? "" : ":"))
        for p in r.lost { print("  lost: \(file): \(p.place): \(p.message)") }
        let check = try RecordingDoctor.check(path: output)
        guard check.isHealthy else {
            print("\(output): still \(check.problems.count) problem(s) after repair")
            throw ExitCode(1)
        }
        print("\(output): ok")
    }

    static func defaultRepairPath(_ file: String) -> String {
        let url = URL(fileURLWithPath: file)
        let stem = url.pathExtension == "tbag" ? url.deletingPathExtension().path : url.path
        return stem + ".repaired.tbag"
    }
}
