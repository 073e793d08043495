"""How far each platform has been trustworthy, and what its public counts are worth for it.

A platform's rating and view counts are claims: nothing checks them, and a platform that
sends items built to steer the ranking has shown what its claims are worth. The record
counts, per platform, the items it sent and how many of them were caught trying (an
injection, hidden text, keyword stuffing); its counts are weighed by `trust`, and an item
caught itself has no counts at all. A session keeps its record from answer to answer
(`RankRequest.platform_record` in, `RankResult.record` out). `Pipeline` reads counts as claims
through `item_trust`, for both rankers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from shieldrec.items import Item
from shieldrec.ranking.contribution import Contribution

HALVING = 0.05  # each 5% of a platform's items caught halves the weight of its counts


def platforms_of(item: Item) -> list[str]:
    return list(item.platforms) or [item.source]


@dataclass(frozen=True)
class PlatformRecord:
    """Per platform name: (items sent, items caught)."""

    tally: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, items: Sequence[Item], caught: np.ndarray, before: PlatformRecord | None = None) -> PlatformRecord:
        tally = dict(before.tally) if before is not None else {}
        for item, bad in zip(items, caught):
            for name in platforms_of(item):
                sent, bad_before = tally.get(name, (0, 0))
                tally[name] = (sent + 1, bad_before + int(bool(bad)))
        return cls(tally)

    def trust(self, name: str) -> float:
        """1 for a platform never caught; halved for each HALVING share of its items caught."""
        sent, caught = self.tally.get(name, (0, 0))
        return 1.0 if not caught else float(0.5 ** ((caught / sent) / HALVING))

    def caught(self, name: str) -> int:
        return self.tally.get(name, (0, 0))[1]


def item_trust(items: Sequence[Item], caught: np.ndarray, record: PlatformRecord) -> np.ndarray:
    """Per item, what its public counts are worth: its least trusted platform's trust, 0 when caught."""
    return np.asarray([0.0 if bad else min(record.trust(name) for name in platforms_of(item))
                       for item, bad in zip(items, caught)], dtype=np.float32)


def trust_note(item: Item, record: PlatformRecord) -> str:
    """What a popularity reason adds when the counts were weighed down; "" when they were not."""
    name = min(platforms_of(item), key=record.trust)
    trust = record.trust(name)
    if trust >= 1.0:
        return ""
    what = f"{name}'s" if name else "these"
    return f" (counted at {trust:.0%}: {what} answers held {record.caught(name)} item(s) trying to steer the ranking)"


def with_trust_notes(signal: Contribution, items: Sequence[Item], record: PlatformRecord) -> Contribution:
    """The popularity signal's reasons saying, where counts were weighed down, why."""
    reasons = [r + trust_note(items[j], record) if r and signal.values[j] > 0 else r
               for j, r in enumerate(signal.reasons)]
    return Contribution(signal.values, reasons)
