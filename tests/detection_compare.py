"""Two runtimes' detections of one image, compared box by box (export tests).

A barely trained model scores many boxes almost alike, so two runtimes that differ by 1e-7
may order near-equal detections differently, or keep another of two at the detection
limit. Each detection must therefore find a partner of the same label, box and score
(within ``atol``) anywhere in the other list, except those that tie with the lowest score
kept (one runtime may keep one the other cut). A wrong box, label, score, scale or a
missing detection above that still fails.
"""
import numpy as np


def as_arrays(detections) -> tuple:
    """(boxes [D, 4], labels [D], scores [D]) as numpy, from a torchvision dict or a tuple."""
    if isinstance(detections, dict):
        detections = (detections["boxes"], detections["labels"], detections["scores"])
    return tuple(np.asarray(x.detach().cpu() if hasattr(x, "detach") else x) for x in detections)


def unmatched(a, b, atol: float) -> list[int]:
    """Indices of ``a``'s detections with no partner in ``b`` (each partner used once)."""
    (boxes_a, labels_a, scores_a), (boxes_b, labels_b, scores_b) = as_arrays(a), as_arrays(b)
    floor = max(scores_a.min(initial=np.inf), scores_b.min(initial=np.inf)) + atol
    used = np.zeros(len(scores_b), bool)
    missing = []
    for i in np.argsort(-scores_a, kind="stable"):
        partner = (~used & (labels_b == labels_a[i]) & (np.abs(scores_b - scores_a[i]) <= atol)
                   & (np.abs(boxes_b - boxes_a[i]).max(axis=1, initial=0) <= atol))
        if partner.any():
            used[np.flatnonzero(partner)[0]] = True
        elif scores_a[i] > floor:
            missing.append(int(i))
    return missing


def assert_same_detections(got, expected, atol: float, what: str = "") -> None:
    got, expected = as_arrays(got), as_arrays(expected)
    assert len(expected[2]) > 0, f"{what}: no detections to compare (the test would prove nothing)"
    assert abs(len(got[2]) - len(expected[2])) <= max(1, len(expected[2]) // 20), \
        f"{what}: {len(got[2])} detections, expected {len(expected[2])}"
    for name, (x, y) in (("extra", (got, expected)), ("missing", (expected, got))):
        lost = unmatched(x, y, atol)
        assert not lost, (f"{what}: {len(lost)} {name} detections, e.g. box {x[0][lost[0]]} label {x[1][lost[0]]} "
                          f"score {x[2][lost[0]]}")
