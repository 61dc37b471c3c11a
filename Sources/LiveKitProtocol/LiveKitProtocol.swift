// LiveKitProtocol: see DESIGN.md §2.
