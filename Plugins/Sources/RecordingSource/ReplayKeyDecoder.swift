/// `trackbag play`'s keys, read from a terminal in non-canonical mode one byte at a time:
///
/// | key | command |
/// |---|---|
/// | space | pause / resume |
/// | → / ← | seek 5 s forward / back (`seekBy`) |
/// | `+` (or `=`, unshifted on most layouts) / `-` | double / halve the rate |
/// | `.` | step one frame (while paused) |
///
/// Arrow keys arrive as escape sequences: `ESC [ C` and `ESC [ D` (ECMA-48 CSI, "cursor
/// forward/back", what a terminal sends in normal cursor mode), or `ESC O C`/`ESC O D` (SS3,
/// application cursor mode), possibly with parameters (`ESC [ 1 ; 2 C` with Shift). A state
/// machine, so a sequence split across reads decodes the same; every other byte or sequence is
/// ignored.
public struct ReplayKeyDecoder: Sendable {
    public static let seekStepNanoseconds: Int64 = 5_000_000_000

    enum State: Sendable { case ground, escape, csi, ss3 }
    var state = State.ground

    public init() {}

    /// Feeds one byte; the command it completes, if any.
    public mutating func feed(_ byte: UInt8) -> ReplayCommand? {
        switch state {
        case .ground:
            switch byte {
            case 0x1B: state = .escape
            case UInt8(ascii: " "): return .toggle
            case UInt8(ascii: "+"), UInt8(ascii: "="): return .scaleRate(by: 2)
            case UInt8(ascii: "-"), UInt8(ascii: "_"): return .scaleRate(by: 0.5)
            case UInt8(ascii: "."): return .stepFrames(1)
            default: break
            }
        case .escape:
            switch byte {
            case UInt8(ascii: "["): state = .csi
            case UInt8(ascii: "O"): state = .ss3
            case 0x1B: state = .escape
            default: state = .ground
            }
        case .csi:
            // ECMA-48 §5.4: parameter bytes 0x30–0x3F and intermediate bytes 0x20–0x2F, then one
            // final byte 0x40–0x7E.
            switch byte {
            case 0x20...0x3F: break
            case 0x40...0x7E:
                state = .ground
                return Self.arrow(byte)
            default: state = byte == 0x1B ? .escape : .ground
            }
        case .ss3:
            state = .ground
            return Self.arrow(byte)
        }
        return nil
    }

    static func arrow(_ final: UInt8) -> ReplayCommand? {
        switch final {
        case UInt8(ascii: "C"): .seekBy(nanoseconds: seekStepNanoseconds)
        case UInt8(ascii: "D"): .seekBy(nanoseconds: -seekStepNanoseconds)
        default: nil
        }
    }
}
