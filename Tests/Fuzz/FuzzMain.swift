// trackbag-fuzz TARGET [libFuzzer flags…] [corpus dirs or files…]
// One libFuzzer binary for every parser that reads untrusted bytes (docs/FUZZING.md). The first
// argument picks the target; the rest go to libFuzzer unchanged. The target's name is also put in
// TRACKBAG_FUZZ_TARGET, so the processes libFuzzer starts itself (-fork, -jobs) fuzz the same one.
import FuzzDriver

#if canImport(Glibc)
import Glibc
#endif

/// One fuzz target: a name and the function libFuzzer calls with each input.
struct FuzzTarget: Sendable {
    let name: String
    let summary: String
    let run: @Sendable ([UInt8]) -> Void
}

nonisolated(unsafe) var selectedTarget: FuzzTarget?

@main
enum FuzzMain {
    static func main() {
        var arguments = CommandLine.arguments
        let environmentName = getenv("TRACKBAG_FUZZ_TARGET").map { String(cString: $0) }
        let name: String
        if arguments.count > 1, !arguments[1].hasPrefix("-"), fuzzTargets.contains(where: { $0.name == arguments[1] }) {
            name = arguments.remove(at: 1)
        } else if let environmentName {
            name = environmentName
        } else {
            printUsage()
            exit(arguments.count > 1 && arguments[1] == "list" ? 0 : 2)
        }
        guard let target = fuzzTargets.first(where: { $0.name == name }) else {
            printError("trackbag-fuzz: unknown target \(name)\n")
            printUsage()
            exit(2)
        }
        selectedTarget = target
        setenv("TRACKBAG_FUZZ_TARGET", name, 1)
        // The Swift backtracer and ASan both want a crashing process; libFuzzer reports on its own.
        setenv("SWIFT_BACKTRACE", "enable=no", 0)

        var argc = Int32(arguments.count)
        var cStrings: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let status = cStrings.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var argv = buffer.baseAddress
            return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) }
        }
        exit(status)
    }

    static func printUsage() {
        var text = "usage: trackbag-fuzz TARGET [libFuzzer flags…] [corpus…]\ntargets:\n"
        for target in fuzzTargets { 
            text += "  " + target.name + String(repeating: " ", count: max(1, 18 - target.name.count)) + target.summary + "\n"
        }
        printError(text)
    }
}

func printError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = write(2, &bytes, bytes.count)
}

/// Every target, in the order `scripts/fuzz.sh` runs them.
let fuzzTargets: [FuzzTarget] = codecsTargets + wireTargets + serverTargets + handshakeTargets + storageTargets + configTargets + rosbag2Targets

/// libFuzzer's callback; `FuzzMain` has already picked the target.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    selectedTarget!.run(bytes)
    return 0
}
