"""RPC's clutter level of a checkout tray, from its number of products and of categories.

RPC (Wei et al., "RPC: A Large-Scale Retail Product Checkout Dataset", 2019) sorts its
checkout images into three clutter levels (easy / medium / hard) by how many categories and
how many instances (products) a tray holds. The ranges used here:

    easy    3-5 categories,  3-10 instances
    medium  5-8 categories, 10-15 instances
    hard    8-10 categories, 15-20 instances

Provenance (checked 2026-12 for the merge with main's layout): these ranges could NOT be read
from the paper's own text with the sources at hand, so they are not confirmed from the paper.
What was found: the official project page (github.com/RPC-Dataset/RPC-Dataset.github.io,
markdown_index.md, "3.5 Detailed information of val+test sets for different clutters") gives
only per-level means over val+test (10,000 images each): easy 7.15 objects / 3.81 categories
per image, medium 12.30 / 6.27, hard 17.35 / 8.87 -- every mean lies inside the ranges above;
a third-party RPC-style synthesis script (found by code search, repository not named by the
index) draws exactly these ranges per "clutter level"; one third-party paper summary
(docsaid.org) gives other, "e.g." ranges (medium 6-10, hard over 10 categories) that the
official hard mean of 8.87 categories contradicts. Check Sec. 3 of arXiv:1901.07249 before
relying on the exact bounds.

The ranges touch (5 categories, 10 or 15 instances belong to two levels), and a synthesized
tray may fall outside all three (e.g. 12 products of 2 categories), so: the easiest level
whose two ranges both hold the tray; otherwise the level the instance count alone gives
(RPC's levels grow with the instances first). Trays with more than 20 products are "hard".
"""
from __future__ import annotations

LEVELS = (("easy", (3, 5), (3, 10)), ("medium", (5, 8), (10, 15)), ("hard", (8, 10), (15, 20)))


def rpc_level(num_instances: int, num_categories: int) -> str:
    for name, (c0, c1), (i0, i1) in LEVELS:
        if c0 <= num_categories <= c1 and i0 <= num_instances <= i1:
            return name
    if num_instances <= 10:
        return "easy"
    return "medium" if num_instances <= 15 else "hard"
