// WebRTCData: see DESIGN.md §2.
