import Foundation
import RoomClient
import Stages

/// `record --snapshot`'s RPC method `trackbag.snapshot` (docs/snapshot.md, docs/rpc.md): any
/// participant may fire the flight recorder, as with `trackbag snapshot --room`; the payload
/// is empty or `{"note": TEXT}`. The answer names the file the window goes to:
/// `{"file": PATH, "extended": false}` for a new file, `true` when the call extended the window
/// of the file already open. The file's `snapshot` event names the caller (the identity the
/// server stamped on the request) and carries the note.
actor SnapshotRPC {
    static let method = "trackbag.snapshot"
    private var sink: SnapshotSink?

    func attach(_ sink: SnapshotSink) { self.sink = sink }

    nonisolated func register(on room: Room) async {
        await room.localParticipant.registerRpcMethod(Self.method) { invocation in
            try await self.fire(invocation)
        }
    }

    func fire(_ invocation: RpcInvocation) async throws(RpcError) -> String {
        guard let sink else { throw RpcError(code: PlayRoomControl.notNow, message: "the snapshot sink is not running yet") }
        let body = try PlayRoomControl.object(invocation.payload)
        let note = body["note"] as? String ?? ""
        let detail = note.isEmpty ? "RPC from \(invocation.callerIdentity)" : note
        let outcome: (path: String?, extended: Bool)
        do {
            outcome = try await sink.fireReporting(SnapshotTrigger(source: "rpc", detail: detail, identity: invocation.callerIdentity))
        } catch {
            throw RpcError(code: RpcError.applicationError.code, message: "snapshot failed: \(error)")
        }
        var answer: [String: Any] = ["extended": outcome.extended]
        if let path = outcome.path { answer["file"] = path }
        guard let data = try? JSONSerialization.data(withJSONObject: answer, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
