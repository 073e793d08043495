"""The hard-filter stage: what the user ruled out never reaches the ranking.

Blocks (stated preferences of kind "block"), things already in the history (unless the
user asked to include them), creators they excluded for this request, topics they avoid
(stated now or in their profile, unless this request asks for it), and limits the metadata
can prove (a Horror tag under "no horror", a 150-minute runtime under "under 2 hours", a
Slasher tag for a 9-year-old). Every removal carries a reason naming what removed it; every
constraint keeps count of the candidates it could not be checked on, so the answer can say so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from shieldrec.intent import Intent
from shieldrec.items import HistoryEvent, Item, Preference
from shieldrec.ranking import evidence, facts
from shieldrec.ranking.types import Check, Removed

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


def asked_for(term: str, intent: Intent) -> bool:
    """Whether the request itself asks for what `term` names ("a horror movie" vs. an avoided "horror")."""
    kind = evidence.content_for(term)
    for wanted in intent.wanted:
        if phrase_in(term, wanted) or facts.genre_match_any(wanted, (term,)):
            return True
        if kind is not None and evidence.content_for(wanted) is kind:
            return True
    return False


def standing_avoids(preferences: Sequence[Preference], intent: Intent) -> tuple[list[Preference], list[Preference]]:
    """The user's stated topic avoids that hold for this request, and those it asks for (set aside)."""
    held, aside = [], []
    for p in preferences:
        if p.kind == "avoid" and p.target == "topic" and p.origin == "stated" and p.weight > 0:
            (aside if asked_for(p.value, intent) else held).append(p)
    return held, aside


@dataclass
class _Rule:
    """One constraint: how to test an item, and its running account."""

    check: Check
    test: Callable[[Item, tuple[str, ...]], tuple[bool | None, str]]  # (removed? / None: unknown, reason)
    caveat: str = ""  # said on the card of an item it could not be checked on, when that matters there


def _rules(intent: Intent, avoids: Sequence[Preference]) -> list[_Rule]:
    rules: list[_Rule] = []
    for who in intent.exclude_creators:
        def by(item: Item, tags: tuple[str, ...], who: str = who) -> tuple[bool | None, str]:
            if not item.creator:
                return None, ""
            hit = phrase_in(who, item.creator)
            return hit, f"removed: by {item.creator} (you said not by {who})" if hit else ""
        rules.append(_Rule(Check(f"not by {who}", "no creator named"), by))

    def content(term: str, why: str) -> Callable[[Item, tuple[str, ...]], tuple[bool | None, str]]:
        def test(item: Item, tags: tuple[str, ...]) -> tuple[bool | None, str]:
            found = evidence.term_evidence(item, tags, term)
            if found:
                return True, f"removed: {found} ({why})"
            if item.creator and phrase_in(term, item.creator):
                return True, f"removed: by {item.creator} ({why})"
            judged = bool(tags) or (evidence.checkable(term) and not evidence.is_thin(item, tags))
            return (False if judged else None), ""
        return test

    missing = "no tags or description"
    for term in intent.avoided:
        rules.append(_Rule(Check(f"no {term}", missing), content(term, f"you said no {term}")))
    said = {t.lower() for t in intent.avoided}
    for p in avoids:
        if p.value.lower() in said:
            continue  # "no horror" said now already holds what a standing "avoid horror" would
        rules.append(_Rule(Check(f"you avoid {p.value}", missing), content(p.value, f"you avoid {p.value}")))
    if intent.max_minutes is not None:
        limit = intent.max_minutes

        def runtime(item: Item, tags: tuple[str, ...]) -> tuple[bool | None, str]:
            minutes = facts.runtime_minutes(item)
            if minutes is None:
                return None, ""
            over = minutes > limit
            return over, f"removed: {minutes:.0f} min, longer than the {limit:.0f} you asked for" if over else ""
        rules.append(_Rule(Check(f"under {limit:g} minutes", "no running time known"), runtime))
    if intent.min_year is not None or intent.max_year is not None:
        low, high = intent.min_year, intent.max_year

        def years(item: Item, tags: tuple[str, ...]) -> tuple[bool | None, str]:
            y = facts.year(item)
            if y is None:
                return None, ""
            if low is not None and y < low:
                return True, f"removed: from {y}, before {low}"
            if high is not None and y > high:
                return True, f"removed: from {y}, after {high}"
            return False, ""
        span = f"from {low} to {high}" if low and high else f"from {low} on" if low else f"up to {high}"
        rules.append(_Rule(Check(span, "no year known"), years))
    if intent.audience_age is not None:
        age, whom = intent.audience_age, intent.audience or f"a {intent.audience_age}-year-old"

        def suits(item: Item, tags: tuple[str, ...]) -> tuple[bool | None, str]:
            seen = evidence.audience(item, tags)
            if seen.min_age is None:
                return None, ""
            unfit = seen.min_age > age
            return unfit, f"removed: {seen.evidence}, not for {whom}" if unfit else ""
        rules.append(_Rule(Check(f"for {whom}", "no age rating or children's genre"), suits,
                           caveat=f"not checked for {whom}: its metadata does not say who it suits"))
    return rules


@dataclass
class Filtered:
    kept: list[int]
    removed: list[Removed]
    checks: list[Check] = field(default_factory=list)
    # Per kept index: what the card must say about a constraint its metadata could not answer.
    caveats: dict[int, list[str]] = field(default_factory=dict)


def filter_candidates(
    items: Sequence[Item],
    *,
    intent: Intent,
    preferences: Sequence[Preference],
    seen: SeenIndex,
    include_consumed: bool,
) -> Filtered:
    """Blocks, history, then every constraint of the request, each accounted for in a Check."""
    blocks = [p for p in preferences if p.kind == "block"]
    held, aside = standing_avoids(preferences, intent)
    rules = _rules(intent, held)
    out = Filtered([], [], [r.check for r in rules])
    out.checks += [Check(f"you avoid {p.value}", "", aside=f"you asked for {p.value} this time") for p in aside]
    ids: set[str] = set()
    for i, item in enumerate(items):
        if item.item_id in ids:
            out.removed.append(Removed(item, "removed: listed twice by the platform"))
            continue
        ids.add(item.item_id)
        tags = facts.genres(item)
        reason = next((r for p in blocks if (r := _blocked(item, p, tags))), "")
        if not reason and not include_consumed:
            ev = seen.find(item, _CONSUMED)
            if ev is not None:
                reason = f"removed: already in your history ({_history_event(ev)})"
        caveats: list[str] = []
        if not reason:
            # Every rule sees every item, so each account counts the same candidates; the first
            # rule that removes the item names the reason.
            for rule in rules:
                verdict, why = rule.test(item, tags)
                if verdict is None:
                    rule.check.unknown += 1
                    if rule.caveat:
                        caveats.append(rule.caveat)
                    continue
                rule.check.checked += 1
                if verdict and not reason:
                    rule.check.removed += 1
                    reason = why
        if reason:
            out.removed.append(Removed(item, reason))
        else:
            if caveats:
                out.caveats[len(out.kept)] = caveats
            out.kept.append(i)
    return out


def hard_filter(
    items: Sequence[Item],
    *,
    intent: Intent,
    preferences: Sequence[Preference],
    seen: SeenIndex,
    include_consumed: bool,
) -> tuple[list[int], list[Removed]]:
    """Indices of the items that stay, and a Removed (with its reason) for each one that goes."""
    done = filter_candidates(items, intent=intent, preferences=preferences, seen=seen,
                             include_consumed=include_consumed)
    return done.kept, done.removed
