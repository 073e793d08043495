"""The hard-filter stage: what the user ruled out never reaches the ranking.

Blocks (stated preferences of kind "block"), things already in the history (unless the
user asked to include them), creators they excluded for this request, and limits the
metadata can prove (a Horror tag under "no horror", a 150-minute runtime under "under 2
hours"). Every removal carries a reason naming what removed it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from shieldrec.intent import Intent
from shieldrec.items import HistoryEvent, Item, Preference
from shieldrec.ranking import facts
from shieldrec.ranking.types import Removed

_CONSUMED = ("liked", "disliked", "consumed", "rated")
_NON_WORD = re.compile(r"[\W_]+")


@lru_cache(maxsize=32768)
def norm(text: str) -> str:
    """Lower-case words separated by single spaces, for name and title comparison."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def phrase_in(phrase: str, text: str) -> bool:
    """Whether the words of `phrase` occur together, as whole words, in `text`."""
    p, t = norm(phrase), norm(text)
    return bool(p) and f" {p} " in f" {t} "


def _history_event(ev: HistoryEvent) -> str:
    if ev.event == "rated" and ev.rating is not None:
        return f"you rated it {ev.rating:g}"
    return {"liked": "you liked it", "disliked": "you disliked it"}.get(ev.event, "it is in your history")


class SeenIndex:
    """The items of a history, findable by id or by title and creator."""

    def __init__(self, history: Sequence[HistoryEvent]) -> None:
        self.by_id: dict[str, HistoryEvent] = {}
        self.by_title: dict[str, list[HistoryEvent]] = {}
        for ev in history:
            self.by_id[ev.item.item_id] = ev
            self.by_title.setdefault(norm(ev.item.title), []).append(ev)

    def find(self, item: Item, events: Sequence[str] | None = None) -> HistoryEvent | None:
        found = self.by_id.get(item.item_id)
        if found is None:
            for ev in self.by_title.get(norm(item.title), ()):
                same_creator = not (ev.item.creator and item.creator) or norm(ev.item.creator) == norm(item.creator)
                if same_creator:
                    found = ev
                    break
        if found is not None and events is not None and found.event not in events:
            return None
        return found


def _blocked(item: Item, pref: Preference, tags: tuple[str, ...]) -> str:
    value = pref.value
    if pref.target == "creator" and item.creator and phrase_in(value, item.creator):
        return f"removed: blocked creator '{value}'"
    if pref.target == "item" and (item.item_id == value or norm(item.title) == norm(value)):
        return f"removed: blocked item '{value}'"
    if pref.target == "source":
        sources = [item.source, *item.platforms]
        if any(s and norm(s) == norm(value) for s in sources):
            return f"removed: blocked source '{value}'"
    if pref.target == "topic":
        tag = facts.genre_match(value, tags)
        if tag:
            return f"removed: blocked topic '{value}' (tagged {tag})"
        if phrase_in(value, item.title):
            return f"removed: blocked topic '{value}' (in its title)"
        if phrase_in(value, item.text):
            return f"removed: blocked topic '{value}' (in its description)"
    return ""


def _excluded(item: Item, intent: Intent, tags: tuple[str, ...]) -> str:
    for who in intent.exclude_creators:
        if item.creator and phrase_in(who, item.creator):
            return f"removed: by {item.creator} (you said not by {who})"
    for term in intent.avoided:
        tag = facts.genre_match(term, tags)
        if tag:
            return f"removed: tagged {tag} (you said no {term})"
        if item.creator and phrase_in(term, item.creator):
            return f"removed: by {item.creator} (you said no {term})"
    if intent.max_minutes is not None:
        minutes = facts.runtime_minutes(item)
        if minutes is not None and minutes > intent.max_minutes:
            return f"removed: {minutes:.0f} min, longer than the {intent.max_minutes:.0f} you asked for"
    if intent.min_year is not None or intent.max_year is not None:
        y = facts.year(item)
        if y is not None and intent.min_year is not None and y < intent.min_year:
            return f"removed: from {y}, before {intent.min_year}"
        if y is not None and intent.max_year is not None and y > intent.max_year:
            return f"removed: from {y}, after {intent.max_year}"
    return ""


def hard_filter(
    items: Sequence[Item],
    *,
    intent: Intent,
    preferences: Sequence[Preference],
    seen: SeenIndex,
    include_consumed: bool,
) -> tuple[list[int], list[Removed]]:
    """Indices of the items that stay, and a Removed (with its reason) for each one that goes."""
    blocks = [p for p in preferences if p.kind == "block"]
    kept: list[int] = []
    removed: list[Removed] = []
    ids: set[str] = set()
    for i, item in enumerate(items):
        if item.item_id in ids:
            removed.append(Removed(item, "removed: listed twice by the platform"))
            continue
        ids.add(item.item_id)
        tags = facts.genres(item)
        reason = next((r for p in blocks if (r := _blocked(item, p, tags))), "")
        if not reason and not include_consumed:
            ev = seen.find(item, _CONSUMED)
            if ev is not None:
                reason = f"removed: already in your history ({_history_event(ev)})"
        if not reason:
            reason = _excluded(item, intent, tags)
        if reason:
            removed.append(Removed(item, reason))
        else:
            kept.append(i)
    return kept, removed
