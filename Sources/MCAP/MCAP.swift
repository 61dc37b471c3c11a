// MCAP: see DESIGN.md §2.
