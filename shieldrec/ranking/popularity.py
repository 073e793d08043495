"""Public popularity, when the platform sends counts: a prior, measured in e-folds.

A value of +1 means e (about 2.7) times the ratings of a typical candidate. It is a
weak kind of evidence about this user, so its default weight is small; it matters most
when nothing else separates two candidates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shieldrec.items import Item
from shieldrec.ranking import explain, facts
from shieldrec.ranking.contribution import Contribution

LIMIT = 3.0


def popularity_signal(items: Sequence[Item]) -> Contribution:
    n = len(items)
    counts = [facts.popularity_count(it) for it in items]
    known = np.asarray([c is not None for c in counts])
    if known.sum() < 2:
        return Contribution.zeros(n)
    logs = np.log1p(np.asarray([c if c is not None else 0.0 for c in counts], dtype=np.float64))
    center = logs[known].mean()
    values = np.where(known, np.clip(logs - center, -LIMIT, LIMIT), 0.0).astype(np.float32)
    reasons = [""] * n
    for j, c in enumerate(counts):
        if c is not None:
            reasons[j] = explain.popularity(c, float(values[j]))
    return Contribution(values, reasons)
