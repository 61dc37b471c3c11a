import Codecs
import Foundation
import RoomClient
import Stages
import TrackModel

/// `trackbag play` driven from inside the room (docs/rpc.md): RPC methods on every replaying
/// participant, and the replay's state published as their attributes.
///
/// Methods: `trackbag.status`, `trackbag.pause`, `trackbag.resume`, `trackbag.rate`
/// (`{"rate": 0.25}`), `trackbag.step` (`{"frames": N}` or `{"duration": "100ms"}`, while
/// paused), `trackbag.seek` (`{"to": "12.5s"}`, an offset from the first frame, or
/// `{"to": 1700000000000000000}`, a receive time in Unix ns). Each answers with the status JSON.
/// Only callers whose identity matches a `--control-from` glob may change anything (none by
/// default); `trackbag.status` answers anyone, as the attributes show the same to everyone.
struct PlayRoomControl: Sendable {
    /// Errors of our own (outside LiveKit's 1001…1999).
    static let badRequest = 2400
    static let notAllowed = 2403
    static let notNow = 2409
    static let methods = ["trackbag.status", "trackbag.pause", "trackbag.resume", "trackbag.rate",
                          "trackbag.step", "trackbag.seek"]

    let control: ReplayControl
    /// Who may drive the replay; empty: nobody.
    let controllers: [Glob]
    /// Told what each accepted command did.
    let notice: @Sendable (String) -> Void

    func register(on rooms: [Room]) async {
        for room in rooms {
            for method in Self.methods {
                await room.localParticipant.registerRpcMethod(method) { invocation in
                    try handle(invocation)
                }
            }
        }
    }

    /// Answers one call: the status after the command, or an `RpcError`.
    func handle(_ invocation: RpcInvocation) throws(RpcError) -> String {
        if invocation.method != "trackbag.status" {
            guard controllers.contains(where: { $0.matches(invocation.callerIdentity) }) else {
                throw RpcError(code: Self.notAllowed,
                               message: "\(invocation.callerIdentity) may not control this replay "
                                   + (controllers.isEmpty ? "(nobody may: start play with --control-from GLOB)"
                                                          : "(allowed: \(controllers.map(\.pattern).joined(separator: ", ")))"))
            }
        }
        let body = try Self.object(invocation.payload)
        guard let command = try Self.command(invocation.method, body) else { return Self.json(control.status) }
        let done: String
        do {
            done = try control.perform(command)
        } catch {
            throw RpcError(code: Self.notNow, message: error.reason)
        }
        notice("\(done): \(invocation.method) \(invocation.payload.isEmpty ? "" : invocation.payload + " ")from \(invocation.callerIdentity)")
        return Self.json(control.status)
    }

    /// The command a method and its payload ask for (nil: `trackbag.status`, which changes nothing).
    static func command(_ method: String, _ body: [String: Any]) throws(RpcError) -> ReplayCommand? {
        switch method {
        case "trackbag.status":
            return nil
        case "trackbag.pause":
            return .pause
        case "trackbag.resume":
            return .resume
        case "trackbag.rate":
            guard let rate = (body["rate"] as? NSNumber)?.doubleValue, rate > 0, rate <= ReplayCommand.maximumRate, rate.isFinite else {
                throw RpcError(code: Self.badRequest, message: #"expected {"rate": R} with 0 < R ≤ 1000"#)
            }
            return .rate(rate)
        case "trackbag.step":
            if let frames = body["frames"] as? NSNumber {
                guard let count = Int(exactly: frames.doubleValue), count >= 1, count <= 1_000_000 else {
                    throw RpcError(code: Self.badRequest, message: "frames must be a whole number 1…1000000")
                }
                return .stepFrames(count)
            } else if let text = body["duration"] as? String {
                let duration: TimeOffset
                do { duration = try TimeOffset(parsing: text) } catch {
                    throw RpcError(code: Self.badRequest, message: "duration: \(error)")
                }
                guard duration.nanoseconds > 0 else { throw RpcError(code: Self.badRequest, message: "duration must be > 0") }
                return .stepDuration(nanoseconds: duration.nanoseconds)
            }
            throw RpcError(code: Self.badRequest, message: #"expected {"frames": N} or {"duration": "100ms"}"#)
        case "trackbag.seek":
            if let text = body["to"] as? String {
                do { return .seek(.offset(nanoseconds: try TimeOffset(parsing: text).nanoseconds)) } catch {
                    throw RpcError(code: Self.badRequest, message: "to: \(error)")
                }
            } else if let number = body["to"] as? NSNumber {
                // Read as an integer: a Double cannot hold every nanosecond of a Unix time.
                return .seek(.unixNanoseconds(number.int64Value))
            }
            throw RpcError(code: Self.badRequest, message: #"expected {"to": "12.5s"} (offset) or {"to": UNIX_NS}"#)
        default:
            throw RpcError.unsupportedMethod
        }
    }

    /// The payload as a JSON object (empty payload: no fields).
    static func object(_ payload: String) throws(RpcError) -> [String: Any] {
        let trimmed = payload.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return [:] }
        guard let value = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)), let object = value as? [String: Any] else {
            throw RpcError(code: badRequest, message: "payload is not a JSON object: \(trimmed.prefix(80))")
        }
        return object
    }

    static func json(_ status: ReplayControl.Status) -> String {
        var object: [String: Any] = ["state": status.state.rawValue, "rate": status.rate, "frames_sent": status.framesSent,
                                     "pauses": status.pauses, "seeks": status.seeks, "stepped_frames": status.steppedFrames]
        if let position = status.positionNs { object["position_ns"] = position }
        if let offset = status.offsetNs { object["offset_s"] = Double(offset) / 1e9 }
        if let first = status.firstNs { object["first_ns"] = first }
        if let last = status.lastNs { object["last_ns"] = last }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The participant attributes that show the replay's state.
    static func attributes(_ status: ReplayControl.Status) -> [String: String] {
        var attributes = ["trackbag.state": status.state.rawValue, "trackbag.rate": String(status.rate)]
        if let offset = status.offsetNs { attributes["trackbag.position"] = String(format: "%.3f", Double(offset) / 1e9) }
        if let position = status.positionNs { attributes["trackbag.position_ns"] = String(position) }
        return attributes
    }

    /// Publishes the attributes on every participant when they changed, at most every
    /// `interval`, until cancelled.
    static func publishAttributes(of control: ReplayControl, on rooms: [Room], interval: Duration = .milliseconds(250)) -> Task<Void, Never> {
        Task {
            var last: [String: String] = [:]
            while !Task.isCancelled {
                let current = attributes(control.status)
                if current != last {
                    for room in rooms { try? await room.localParticipant.setAttributes(current) }
                    last = current
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
