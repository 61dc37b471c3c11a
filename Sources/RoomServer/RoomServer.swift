// RoomServer: the embedded LiveKit-compatible room server (DESIGN.md §2).
