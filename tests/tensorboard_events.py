"""The tags a run folder's TensorBoard events hold, read back as TensorBoard reads them."""


def tensorboard_tags(folder, kinds=("scalars", "histograms", "images")) -> dict:
    """{kind: set of tags} over every event file in ``folder`` (a resumed run writes several)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = {kind: set() for kind in kinds}
    for events in folder.glob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events), size_guidance={kind: 0 for kind in kinds})
        accumulator.Reload()
        found = accumulator.Tags()
        for kind in kinds:
            tags[kind] |= set(found[kind])
    return tags
