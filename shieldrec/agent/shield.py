"""The agent's own checks before ranking, and the profile's effect on turns already shown.

The ranking removes what the profile blocks; here the agent adds what only a conversation
knows: the kind of thing asked for ("only books"), items the user put off ("not now"),
the item a "more like this" started from, and, on turns already on screen, what feedback
given since has taken out.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from shieldrec.agent.kinds import KINDS, item_kind
from shieldrec.agent.turn import Card, Turn
from shieldrec.intent import Intent
from shieldrec.items import HistoryEvent, Item, Preference

if TYPE_CHECKING:
    from shieldrec.ranking.types import Check

NOT_NOW_DAYS = 7.0
_PLURAL = {"movie": "movies", "book": "books", "podcast": "podcasts", "show": "shows", "article": "articles",
           "video": "videos", "music": "music"}


def _ago(seconds: float) -> str:
    days = int(seconds // 86400)
    return "today" if days == 0 else "yesterday" if days == 1 else f"{days} days ago"


def prefilter(
    items: Sequence[Item],
    intent: Intent,
    history: Sequence[HistoryEvent],
    *,
    anchor: Item | None = None,
    now: float | None = None,
    checks: list[Check] | None = None,
) -> tuple[list[Item], list[tuple[Item, str]]]:
    """(items that go on to the ranking, (item, reason) for each one that does not). A kind asked
    for ("only movies") is accounted for in `checks`: items whose metadata says no kind are kept,
    and the answer says how many."""
    now = time.time() if now is None else now
    put_off = {ev.item.item_id: ev.at for ev in history
               if ev.event == "not_now" and now - ev.at < NOT_NOW_DAYS * 86400}
    wanted_kind = KINDS.get(intent.item_type.lower(), intent.item_type.lower()) if intent.item_type else ""
    from shieldrec.ranking.types import Check  # the ranking's account of constraints, loaded with it

    plural = _PLURAL.get(wanted_kind, wanted_kind)
    check = Check(f"only {plural}", "no kind stated")
    kept: list[Item] = []
    out: list[tuple[Item, str]] = []
    for item in items:
        if anchor is not None and (item.item_id == anchor.item_id or _same_work(item, anchor)):
            out.append((item, "removed: the one you asked for more like"))
            continue
        kind = item_kind(item) if wanted_kind else ""
        if wanted_kind:
            if not kind:
                check.unknown += 1
            else:
                check.checked += 1
        if wanted_kind and kind and kind != wanted_kind:
            check.removed += 1
            out.append((item, f"removed: a {kind} (you asked for {plural})"))
            continue
        if item.item_id in put_off:
            out.append((item, f"removed: you said not now ({_ago(now - put_off[item.item_id])})"))
            continue
        kept.append(item)
    if wanted_kind and checks is not None:
        checks.append(check)
    return kept, out


def _same_work(item: Item, anchor: Item) -> bool:
    """The anchor again under another id (a second platform, a re-listing): same title and creator."""
    from shieldrec.ranking.filters import norm

    return norm(item.title) == norm(anchor.title) and norm(item.creator) == norm(anchor.creator)


_HIDING = {"disliked": "you disliked it", "not_now": "you said not now", "skipped": "you skipped it"}


def apply_profile(turn: Turn, preferences: Sequence[Preference], history: Sequence[HistoryEvent]) -> None:
    """Mark and hide a shown turn's cards by the profile as it is now (feedback since, blocks)."""
    from shieldrec.ranking.filters import SeenIndex, hard_filter

    blocks = [p for p in preferences if p.kind == "block"]
    items = [c.item for c in turn.cards]
    blocked: dict[str, str] = {}
    if blocks and items:
        _, removed = hard_filter(items, intent=Intent(), preferences=blocks, seen=SeenIndex([]),
                                 include_consumed=True)
        blocked = {r.item.item_id: r.reason for r in removed}
    latest: dict[str, HistoryEvent] = {}
    for ev in history:
        if ev.at >= turn.at:
            latest[ev.item.item_id] = ev
    for card in turn.cards:
        ev = latest.get(card.item.item_id)
        card.mark = ev.event if ev is not None else ""
        card.rating = ev.rating if ev is not None else None
        card.hidden = blocked.get(card.item.item_id, "")
        if not card.hidden and ev is not None and ev.event in _HIDING:
            card.hidden = f"removed: {_HIDING[ev.event]}"


def blocked_by(cards: Sequence[Card], block: Preference) -> list[Card]:
    """The cards a new block would take out, by the same filter the ranking applies."""
    from shieldrec.ranking.filters import SeenIndex, hard_filter

    if not cards:
        return []
    _, removed = hard_filter([c.item for c in cards], intent=Intent(), preferences=[block], seen=SeenIndex([]),
                             include_consumed=True)
    gone = {r.item.item_id for r in removed}
    return [c for c in cards if c.item.item_id in gone]
