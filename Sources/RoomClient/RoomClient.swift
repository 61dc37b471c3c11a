// RoomClient: the Swift LiveKit room client (DESIGN.md §2).
