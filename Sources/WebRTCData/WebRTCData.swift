// WebRTCData: see docs/ARCHITECTURE.md.
