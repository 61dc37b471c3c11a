// TrackModel: the vocabulary every layer above the wire shares — what a track is (`TrackInfo`,
// `TrackKey`, `SchemaInfo`), what happened in a session (`SessionEvent`), and the two things
// users type to pick tracks and times (`TrackGlob`, `TimeOffset`). Values only: no I/O, no
// storage, no pipeline; the recording format, the pipeline and the stages all name tracks with it.
