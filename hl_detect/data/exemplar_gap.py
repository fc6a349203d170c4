"""The exemplar gap: training on single-product images, testing on trays.

RPC's train2019 holds one product per image; its val2019 / test2019 hold trays of many. A
detector trained on the first as they are finds and names far fewer products on the second
(issue 27: AP50 38 against 99.7 on an RPC-shaped stand-in), and nothing in the numbers of a
data summary says why. These lines do, once: check_dataset's report for a split of
single-object images (report.py), and the training log when the training split is one and
the test split is trays (splits.py). A training split that composes trays on the fly
(copy_paste.py) has crossed the gap and is not reported.
"""
from __future__ import annotations

import numpy as np

SINGLE_SHARE = 0.9   # a split whose images hold exactly one object this often is a set of exemplars
TRAY_OBJECTS = 2.5   # a split averaging at least this many objects per image is a set of trays
RECIPE = ("datasets/README.md, \"Learning from exemplars\": synthesize trays (tools/synthesize_checkout.py, "
          "configs/rpc_exemplars.yaml) or compose them on the fly (data.copy_paste=true)")


def object_counts(ds) -> np.ndarray:
    return np.asarray([len(r.labels) for r in ds.records], np.int64)


def single_object_share(ds) -> float:
    counts = object_counts(ds)
    return float((counts == 1).mean()) if len(counts) else 0.0


def holds_exemplars(ds) -> bool:
    return not getattr(ds, "composes_trays", False) and len(ds.records) > 0 and single_object_share(ds) >= SINGLE_SHARE


def holds_trays(ds) -> bool:
    counts = object_counts(ds)
    return len(counts) > 0 and counts.mean() >= TRAY_OBJECTS


def exemplar_gap(train, test) -> str | None:
    """The training log's line when the training split is exemplars and the test split trays."""
    if not (holds_exemplars(train) and holds_trays(test)):
        return None
    return (f"[data] exemplar gap: the training split holds single-object images ({100 * single_object_share(train):.0f} % "
            f"of {len(train.records)} hold one object) and the test split trays ({object_counts(test).mean():.1f} objects "
            f"per image): trained on exemplars as they are, a detector finds and names far fewer products on trays. "
            f"Train on trays made from them: {RECIPE}")


def exemplar_note(ds) -> str | None:
    """check_dataset's line for one split of single-object images."""
    if not holds_exemplars(ds):
        return None
    return (f"note: {100 * single_object_share(ds):.0f} % of the images hold exactly one object: single-product "
            f"exemplars (as RPC's train2019). To test on checkout trays, do not train on them as they are: {RECIPE}")
