// DataTracks: see DESIGN.md §2.
