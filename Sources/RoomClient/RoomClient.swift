// RoomClient: the Swift LiveKit room client (docs/ARCHITECTURE.md; LiveKit signal protocol v16).
//
// - `Room` (actor; `Room+Session`: join, offer/answer, trickle, ping, reconnect;
//   `Room+DataTracks`: publish, subscribe, packets both ways; `Room+Rpc`: LiveKit RPC and
//   attributes) owns the room's state.
// - `RpcEndpoint`: RPC v1 as a pure state machine (packets and time in, actions out);
//   `RpcError`, `RpcInvocation`, `RpcHandler` are its public face (docs/rpc.md).
// - `LocalParticipant`, `LocalDataTrack` (non-blocking `tryPush`, 16-frame queue),
//   `RemoteParticipant`, `RemoteDataTrack`, `DataTrackSubscription` (bounded buffer, drops new
//   frames when full), `DataTrackPublication`, `RoomEvent`, `RoomOptions`, `E2EEOptions`.
// - Pure parts tests drive directly: `SignalRequests` (every message we send, built as the SDK
//   builds it), `SubscriberHandleMap`, `SubscriptionFanout`, `ReconnectSchedule`,
//   `SignalLiveness`, `HTTPStatusProbe.parse`.
// - I/O edges: `SignalConnection` (WebSocket, swift-websocket's WSClient), `HTTPStatusProbe`
//   (why an upgrade failed: only a 404 on /rtc/v1 falls back to /rtc), WebRTCData's
//   `PeerConnection`.
// - `RoomClientError`: the module's one error type.
