// LiveKitProtocol: LiveKit's wire contracts, no I/O (docs/ARCHITECTURE.md, docs/WIRE.md).
//
// - `livekit_models.pb.swift`, `livekit_rtc.pb.swift`: generated from `schemas/livekit/*.proto`
//   (our subset, upstream field numbers) by `scripts/generate-protos.sh`; never edit by hand.
// - `AccessToken`, `AccessTokenClaims`, `VideoGrant`: HS256 JWTs as LiveKit issues and checks them.
// - `JoinRequestQuery`: the `/rtc/v1?join_request=` value (base64url `WrappedJoinRequest`).
// - `SignalConnectRequest`, `SignalFrame`: the signal WebSocket's upgrade request and frames.
// - `RelayedDataPacket`: a `_reliable`/`_lossy` DataPacket re-stamped for forwarding.
// - `LiveKitProtocolError`: the module's one error type.
