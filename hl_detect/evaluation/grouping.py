"""Vectorized "all pairs within the same group" and per-group argmax (no Python loops).

Q queries with integer keys [Q], R references with keys [R].
``pairs_by_key`` -> (query index [P], reference index [P], counts [Q]); pairs are ordered by
query, and within a query by the references' input order (so argmax ties resolve as
``np.argmax`` over the devkit's per-image list does: first in annotation order).
``segment_argmax`` over P values laid out in Q consecutive segments -> max [Q] (-inf for an
empty segment, as the devkit's ``ovmax = -np.inf``) and the flat position of the first max [Q]
(-1 for an empty segment).
"""
import numpy as np


def pairs_by_key(query_keys, ref_keys):
    query_keys = np.asarray(query_keys, dtype=np.int64)
    ref_keys = np.asarray(ref_keys, dtype=np.int64)
    ref_order = np.argsort(ref_keys, kind="stable")  # stable: keeps annotation order in a group
    sorted_keys = ref_keys[ref_order]
    start = np.searchsorted(sorted_keys, query_keys, side="left")
    counts = np.searchsorted(sorted_keys, query_keys, side="right") - start
    qi = np.repeat(np.arange(len(query_keys)), counts)
    seg_start = np.cumsum(counts) - counts
    within = np.arange(int(counts.sum())) - np.repeat(seg_start, counts)  # ragged arange
    rj = ref_order[np.repeat(start, counts) + within]
    return qi, rj, counts


def segment_argmax(values, counts):
    counts = np.asarray(counts, dtype=np.int64)
    n = len(counts)
    best = np.full(n, -np.inf)
    arg = np.full(n, -1, dtype=np.int64)
    nonempty = counts > 0
    if not nonempty.any():
        return best, arg
    seg_start = np.cumsum(counts) - counts
    best[nonempty] = np.maximum.reduceat(values, seg_start[nonempty])
    seg_id = np.repeat(np.arange(n), counts)
    hit = np.flatnonzero(values == best[seg_id])
    segs, first = np.unique(seg_id[hit], return_index=True)  # first hit = first max
    arg[segs] = hit[first]
    return best, arg
