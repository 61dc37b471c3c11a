import Foundation
import Logging
import Stages
#if canImport(Glibc)
import Glibc
#endif

/// `trackbag play`'s keys, when standard input is a terminal: space pauses and resumes, the
/// arrows seek 5 s back and forward, `+`/`-` double and halve the rate, `.` steps one frame while
/// paused (`ReplayKeyDecoder`). Each key becomes the `ReplayCommand` the RPC method of the same
/// name gives (`PlayRoomControl`), performed by `ReplayControl.perform`: one implementation.
/// The terminal is put in non-canonical, no-echo mode for the run (keys arrive one at a time and
/// are not echoed; ISIG stays on, so Ctrl-C still stops the replay) and restored by
/// `restore()`. A pipe or file on stdin, or a job in the background, is left alone: scripts are
/// never paused by input.
final class PlayKeys: Sendable {
    private let saved: termios

    /// Nil when stdin is not a terminal or its mode cannot be changed.
    init?(control: ReplayControl, logger: Logger) {
        // Not from the background: a background job changing its controlling terminal's mode
        // would be stopped by SIGTTOU (and its keys belong to the shell anyway). A terminal
        // that is not our controlling one (tcgetpgrp fails) sends no such signal.
        guard isatty(0) != 0 else { return nil }
        let foreground = tcgetpgrp(0)
        guard foreground == -1 || foreground == getpgrp() else { return nil }
        var original = termios()
        guard tcgetattr(0, &original) == 0 else { return nil }
        var raw = original
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(0, TCSANOW, &raw) == 0 else { return nil }
        saved = original
        logger.info("keys: space pauses and resumes, ←/→ seek 5 s, +/- double/halve the rate, . steps one frame while paused")
        // A plain thread: the read blocks, and must not hold a cooperative-pool thread.
        let reader = Thread {
            var decoder = ReplayKeyDecoder()
            var byte: UInt8 = 0
            while read(0, &byte, 1) == 1 {
                guard let command = decoder.feed(byte) else { continue }
                do throws(ReplayCommandRefusal) {
                    let done = try control.perform(command)
                    logger.info("\(done)\(done == "paused" ? " (space resumes)" : "")")
                } catch {
                    logger.info("\(error.reason)")
                }
            }
        }
        reader.name = "trackbag-play-keys"
        reader.start()
    }

    /// Puts the terminal back as it was.
    func restore() {
        var original = saved
        _ = tcsetattr(0, TCSANOW, &original)
    }
}
