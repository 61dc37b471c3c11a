import ArgumentParser
import Logging
import Pipeline
#if canImport(Glibc)
import Glibc
#endif

/// How a recorder or replayer asks the kernel for CPU on a busy on-board computer
/// (docs/losses.md, "A busy machine"): a nice value, real-time round-robin scheduling where the
/// process may use it, and a set of CPUs. Linux applies all three per thread, so they are set on
/// every thread the process already has (/proc/self/task) and new threads inherit them.
struct SchedulingOptions: ParsableArguments {
    @Option(parsing: .unconditional,
            help: ArgumentHelp("Nice value for the process (-20 … 19; below 0 needs CAP_SYS_NICE or an RLIMIT_NICE allowance).",
                               valueName: "n"))
    var nice: Int32?

    @Option(help: ArgumentHelp("Real-time round-robin priority (SCHED_RR, 1 … 99; needs CAP_SYS_NICE or RLIMIT_RTPRIO). Use with care: a busy real-time thread can starve the rest of the machine.",
                               valueName: "priority"))
    var realtime: Int32?

    @Option(help: ArgumentHelp("Run only on these CPUs (0,2 or 0-3).", valueName: "list"))
    var cpus: String?

    func validate() throws {
        if let nice, !(-20...19).contains(nice) { throw ValidationError("--nice \(nice): must be from -20 to 19") }
        if let realtime, !(1...99).contains(realtime) { throw ValidationError("--realtime \(realtime): must be from 1 to 99") }
        if let cpus { _ = try Self.parseCPUs(cpus) }
    }

    /// Applies what was asked; returns one line per setting for the user ("nice -5", …). A
    /// setting the kernel refuses is an error that says which and why: a recorder that was asked
    /// to run at real-time priority must not silently run without it.
    ///
    /// Threads can start while this runs, so /proc/self/task is read again until a pass finds no
    /// thread left to set. New threads inherit the settings, except that libdispatch sets the
    /// nice value of its worker threads itself when it starts them (for their QoS): a task keeps
    /// checking once a second for as long as the command runs and sets such threads again.
    func apply() throws -> [String] {
        guard cpus != nil || nice != nil || realtime != nil else { return [] }
        let plan = try ThreadSettings(cpus: cpus.map(Self.parseCPUs), nice: nice, realtime: realtime)
        try plan.applyToAllThreads()
        Task.detached(priority: .low) {
            while true {
                try? await Task.sleep(for: .seconds(1))
                try? plan.applyToAllThreads()
            }
        }
        return [cpus.map { "cpus \($0)" }, nice.map { "nice \($0)" }, realtime.map { "SCHED_RR priority \($0)" }].compactMap { $0 }
    }

    /// `apply`, logging each setting; a refused one is printed as an error and ends the command.
    func applyOrExit(logger: Logger) throws {
        do {
            for line in try apply() { logger.info("\(line)") }
        } catch let error as ValidationError {
            printErrors(PipelineError(message: error.message))
            throw ExitCode(1)
        }
    }

    /// `0,2` or `0-3` or a mix, each below CPU_SETSIZE.
    static func parseCPUs(_ text: String) throws -> [Int] {
        var cpus: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let lo = Int(bounds[0]), let hi = Int(bounds.last!), 0 <= lo, lo <= hi,
                  hi < MemoryLayout<cpu_set_t>.size * 8 else {
                throw ValidationError("--cpus '\(text)': expected CPU numbers like 0,2 or 0-3")
            }
            cpus.append(contentsOf: lo...hi)
        }
        return cpus
    }
}

/// The scheduling settings, set thread by thread (Linux keeps nice, policy and affinity per thread).
private struct ThreadSettings: Sendable {
    let cpus: [Int]?
    let nice: Int32?
    let realtime: Int32?

    init(cpus: [Int]?, nice: Int32?, realtime: Int32?) throws {
        self.cpus = cpus
        self.nice = nice
        self.realtime = realtime
    }

    /// Sets every thread that lacks a setting, until a pass over /proc/self/task finds none.
    func applyToAllThreads() throws {
        var done = Set<pid_t>()
        while true {
            let pending = Self.threadIDs().filter { !done.contains($0) && !isSet($0) }
            if pending.isEmpty { return }
            for tid in pending {
                try apply(to: tid)
                done.insert(tid)
            }
        }
    }

    /// True when `tid` already has the nice value and policy asked for (the affinity is
    /// inherited and nothing in the process changes it).
    private func isSet(_ tid: pid_t) -> Bool {
        if let nice {
            errno = 0
            let current = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(tid))
            if current != nice || errno != 0 { return false }
        }
        if realtime != nil, sched_getscheduler(tid) != SCHED_RR { return false }
        return true
    }

    private func apply(to tid: pid_t) throws {
        if let cpus {
            var set = cpu_set_t()
            withUnsafeMutableBytes(of: &set) { raw in
                for cpu in cpus { raw[cpu / 8] |= UInt8(1 << (cpu % 8)) }
            }
            if Self.setAffinity(tid, MemoryLayout<cpu_set_t>.size, &set) != 0, errno != ESRCH {
                throw ValidationError("--cpus: \(Self.reason(errno))")
            }
        }
        if let nice, setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(tid), nice) != 0, errno != ESRCH {
            throw ValidationError("--nice \(nice): \(Self.reason(errno))")
        }
        if let realtime {
            var param = sched_param(sched_priority: realtime)
            if sched_setscheduler(tid, SCHED_RR, &param) != 0, errno != ESRCH {
                throw ValidationError("--realtime \(realtime): \(Self.reason(errno))")
            }
        }
    }

    /// glibc's sched_setaffinity(2) wrapper, which Swift's Glibc module leaves out (it is
    /// declared only under _GNU_SOURCE).
    private static let setAffinity: @convention(c) (pid_t, Int, UnsafeRawPointer) -> Int32 = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sched_setaffinity") else {
            return { _, _, _ in errno = ENOSYS; return -1 }
        }
        return unsafeBitCast(symbol, to: (@convention(c) (pid_t, Int, UnsafeRawPointer) -> Int32).self)
    }()

    private static func threadIDs() -> [pid_t] {
        guard let dir = opendir("/proc/self/task") else { return [getpid()] }
        defer { closedir(dir) }
        var tids: [pid_t] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let tid = pid_t(name) { tids.append(tid) }
        }
        return tids.isEmpty ? [getpid()] : tids
    }

    private static func reason(_ code: Int32) -> String {
        code == EPERM ? "not permitted (needs CAP_SYS_NICE, or a higher RLIMIT_NICE / RLIMIT_RTPRIO)" : String(cString: strerror(code))
    }
}
