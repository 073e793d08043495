"""Public popularity, when the platform sends counts: a prior, measured in e-folds.

A value of +1 means e (about 2.7) times the ratings of a typical candidate from the same
platform (counts from two platforms do not compare: `features.popularity_features`). It is
a weak kind of evidence about this user, so its default weight is small; it matters most
when nothing else separates two candidates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shieldrec.items import Item
from shieldrec.ranking import explain, facts
from shieldrec.ranking.contribution import Contribution
from shieldrec.ranking.features import popularity_features


def popularity_signal(items: Sequence[Item], values: np.ndarray | None = None,
                      counts: Sequence[float | None] | None = None) -> Contribution:
    """`values` (features.popularity_features(items)[0]) and `counts` (facts.popularity_count of
    each item): pass them when the caller has them already."""
    n = len(items)
    if counts is None:
        counts = [facts.popularity_count(it) for it in items]
    if sum(c is not None for c in counts) < 2:
        return Contribution.zeros(n)
    if values is None:
        values = popularity_features(items, counts)[0]
    values = np.asarray(values, dtype=np.float32)
    reasons = [""] * n
    for j, c in enumerate(counts):
        if c is not None:
            reasons[j] = explain.popularity(c, float(values[j]))
    return Contribution(values, reasons)
