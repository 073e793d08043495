"""What a profile's feedback teaches, as ranked lists: candidates, a gain for each, and the
request as it stood before the feedback (so nothing learns from its own answer).

A list is either one the user was shown (an impression: the items in the order shown), with
the feedback given on its items afterwards; items shown above the lowest one the user reacted
to, and passed over, count as a weak "no" (SKIPPED). Or, for feedback on items no stored list
showed (the local service, an import), a pool of up to POOL consecutive feedback events.
Each list's history is the profile's events before it (at most HISTORY_CAP), without the
list's own items.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from shieldrec.items import HistoryEvent, Item, Preference
from shieldrec.ranking.taste import strength
from shieldrec.ranking.types import RankRequest
from shieldrec.store.learned import Impression

POOL = 20
HISTORY_CAP = 200
SKIPPED = -0.3  # shown above something the user reacted to, and passed over
NOT_NOW = -0.2  # "not now" is not "never", but it is not "yes" either


def gain(ev: HistoryEvent) -> float | None:
    """How much the event says "more like this" (-1..1); None when it says nothing."""
    if ev.event == "not_now":
        return NOT_NOW
    s = strength(ev)
    return s if s != 0.0 or ev.event == "rated" else None


@dataclass
class Judged:
    """One list to learn from: the request before the feedback, a gain per candidate."""

    request: RankRequest
    gains: dict[str, float]  # item id -> gain
    at: float
    events: list[HistoryEvent] = field(default_factory=list)  # the feedback it holds


def _history_before(history: Sequence[HistoryEvent], at: float, leave_out: set[str]) -> list[HistoryEvent]:
    before = [ev for ev in history if ev.at < at and ev.item.item_id not in leave_out]
    return before[-HISTORY_CAP:]


def build(history: Sequence[HistoryEvent], impressions: Sequence[Impression],
          preferences: Sequence[Preference] = (), since: float = 0.0) -> list[Judged]:
    """Every list the history and the shown lists make, oldest first; only lists that hold at
    least two different gains (something to put above something else). Feedback before
    `since` (the last reset) teaches nothing; it stays in each list's history."""
    stated = [p for p in preferences if p.origin == "stated"]
    feedback = [(ev, g) for ev in history if ev.at >= since and (g := gain(ev)) is not None]
    claimed: dict[int, list[tuple[HistoryEvent, float]]] = {}
    loose: list[tuple[HistoryEvent, float]] = []
    ordered = sorted(impressions, key=lambda imp: imp.at)
    showed: dict[str, list[tuple[float, int]]] = {}  # item id -> (time, list) of the lists that showed it
    for k, imp in enumerate(ordered):
        for it in imp.items:
            showed.setdefault(it.item_id, []).append((imp.at, k))
    for ev, g in feedback:
        owner = None
        found = showed.get(ev.item.item_id, [])
        n = bisect.bisect_right(found, (ev.at, len(ordered)))  # the latest list at or before it
        if n:
            owner = found[n - 1][1]
        if owner is None:
            loose.append((ev, g))
        else:
            claimed.setdefault(owner, []).append((ev, g))
    out: list[Judged] = []
    for k, got in claimed.items():
        imp = ordered[k]
        gains: dict[str, float] = {}
        for ev, g in got:
            gains[ev.item.item_id] = g  # the latest feedback on an item is what counts
        shown = [it.item_id for it in imp.items]
        lowest = max(shown.index(i) for i in gains)
        for i in shown[:lowest]:
            gains.setdefault(i, SKIPPED)
        items = [it for it in imp.items if it.item_id in gains]
        out.append(_judged(items, gains, imp.instruction, imp.at, history, stated, [ev for ev, _ in got]))
    for start in range(0, len(loose), POOL):
        chunk = loose[start : start + POOL]
        gains, items = {}, {}
        for ev, g in chunk:
            gains[ev.item.item_id] = g
            items[ev.item.item_id] = ev.item
        at = chunk[0][0].at
        instruction = chunk[-1][0].instruction
        out.append(_judged(list(items.values()), gains, instruction, at, history, stated, [ev for ev, _ in chunk]))
    out = [j for j in out if len(set(j.gains.values())) > 1]
    out.sort(key=lambda j: j.at)
    return out


def _judged(items: list[Item], gains: dict[str, float], instruction: str, at: float,
            history: Sequence[HistoryEvent], stated: list[Preference], events: list[HistoryEvent]) -> Judged:
    leave_out = set(gains)
    request = RankRequest(candidates=items, instruction=instruction,
                          history=_history_before(history, at, leave_out), preferences=list(stated),
                          request_id=f"learn-{at:.3f}")
    return Judged(request, gains, at, events)
