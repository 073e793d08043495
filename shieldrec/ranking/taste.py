"""What the history says about taste: who liked what, how much, how recently.

Each event gets a signed strength (a 5-star rating counts more than "consumed", a
dislike counts against) and a recency weight (the newest events count most: taste
drifts, and what someone watched last predicts the next thing best).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from shieldrec.items import HistoryEvent, Item

HALF_LIFE = 12.0  # events: the 12th most recent counts half as much as the latest
RECENCY_FLOOR = 0.2  # old favourites still count for something
_STRENGTH = {"liked": 1.0, "consumed": 0.4, "disliked": -1.0, "skipped": -0.3, "not_now": 0.0}


def strength(ev: HistoryEvent) -> float:
    """-1..1: how much this event says the user wants more (or less) like it."""
    if ev.event == "rated" and ev.rating is not None:
        if not math.isfinite(ev.rating):
            return 0.0
        rating = ev.rating / 2 if ev.rating > 5 else ev.rating  # a 10-point scale folds onto 5
        return max(-1.0, min(1.0, (float(rating) - 3.0) / 2.0))  # np.clip on a scalar costs ~100x this
    return _STRENGTH.get(ev.event, 0.0)


def _when(ev: HistoryEvent) -> float:
    at = ev.at
    return float(at) if isinstance(at, (int, float)) and math.isfinite(at) else 0.0


def phrase(ev: HistoryEvent) -> str:
    """How a reason refers to the event: "which you liked", "which you rated 5"."""
    if ev.event == "rated" and ev.rating is not None:
        return f"which you rated {ev.rating:g}"
    return {"liked": "which you liked", "disliked": "which you disliked", "consumed": "which you finished",
            "skipped": "which you skipped"}.get(ev.event, "from your history")


@dataclass
class Taste:
    """Liked and disliked history items with their weights (0..1, strength x recency)."""

    liked: list[HistoryEvent] = field(default_factory=list)
    liked_weight: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    disliked: list[HistoryEvent] = field(default_factory=list)
    disliked_weight: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    @property
    def liked_items(self) -> list[Item]:
        return [ev.item for ev in self.liked]

    @property
    def disliked_items(self) -> list[Item]:
        return [ev.item for ev in self.disliked]


def read_taste(history: Sequence[HistoryEvent], half_life: float = HALF_LIFE) -> Taste:
    # Newest last; events without distinct times keep their given order.
    order = sorted(range(len(history)), key=lambda i: (_when(history[i]), i))
    n = len(order)
    liked, lw, disliked, dw = [], [], [], []
    for rank, i in enumerate(order):
        ev = history[i]
        s = strength(ev)
        if s == 0.0:
            continue
        age = n - 1 - rank
        recency = max(RECENCY_FLOOR, 0.5 ** (age / half_life))
        if s > 0:
            liked.append(ev)
            lw.append(s * recency)
        else:
            disliked.append(ev)
            dw.append(-s * recency)
    return Taste(liked, np.asarray(lw, dtype=np.float32), disliked, np.asarray(dw, dtype=np.float32))
