"""The dynamic memory: interests the agent learns from its user's own feedback.

After each piece of feedback the tags and creator of that item are re-counted over the
whole history. A tag or creator the user keeps liking becomes a learned `like` (evidence:
"liked 'X' and 'Y'"); one they keep disliking becomes a learned `avoid`; a learned entry the
history no longer supports goes away. Stated preferences always win: nothing is learned
that the user already said in their own words. Every change is returned, so it can be undone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from shieldrec.items import HistoryEvent, Item, Preference
from shieldrec.store import Profile, Store
from shieldrec.store.db import tx

MIN_EVIDENCE = 2  # feedback events before a tag or creator is believed
MARGIN = 2  # and by how much one direction must outweigh the other
BASE_WEIGHT = 0.4
WEIGHT_STEP = 0.1
MAX_WEIGHT = 0.9  # learned beliefs never outweigh what the user stated (1.0 by default)
_TITLES_NAMED = 3


@dataclass
class MemoryChange:
    """One learned entry added, updated or dropped; `before` is what an undo restores."""

    action: str  # added | updated | dropped
    preference: Preference
    before: Preference | None = None

    def describe(self) -> str:
        verb = {"added": "learned", "updated": "updated", "dropped": "no longer believed"}[self.action]
        return f"{verb}: {self.preference.describe()}"


@dataclass
class _Side:
    count: int = 0  # items whose latest feedback points this way
    newest: list[HistoryEvent] = field(default_factory=list)  # the newest few of those events


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def _keys(item: Item) -> list[tuple[str, str]]:
    from shieldrec.ranking import facts

    keys = [("topic", _key(tag)) for tag in facts.genres(item) if _key(tag)]
    if item.creator.strip():
        keys.append(("creator", item.creator.strip()))
    return list(dict.fromkeys(keys))


def _verb(ev: HistoryEvent) -> str:
    if ev.event == "rated" and ev.rating is not None:
        return f"rated {ev.rating:g}"
    return {"liked": "liked", "consumed": "finished", "disliked": "disliked"}.get(ev.event, ev.event)


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def evidence(side: _Side) -> str:
    """"liked 'A' and 'B'", "liked 'A'; rated 5 'B' and 2 more": the titles that taught it, newest first."""
    groups: dict[str, list[str]] = {}
    for ev in side.newest[:_TITLES_NAMED]:
        groups.setdefault(_verb(ev), []).append(f"'{ev.item.title}'")
    text = "; ".join(f"{verb} {_and(titles)}" for verb, titles in groups.items())
    if side.count > _TITLES_NAMED:
        text += f" and {side.count - _TITLES_NAMED} more"
    return text


def _belief(up: _Side, down: _Side) -> tuple[str, float, _Side] | None:
    if up.count >= MIN_EVIDENCE and up.count - down.count >= MARGIN:
        return "like", min(MAX_WEIGHT, BASE_WEIGHT + WEIGHT_STEP * (up.count - down.count - MARGIN)), up
    if down.count >= MIN_EVIDENCE and down.count - up.count >= MARGIN:
        return "avoid", min(MAX_WEIGHT, BASE_WEIGHT + WEIGHT_STEP * (down.count - up.count - MARGIN)), down
    return None


def _read(store: Store, profile: Profile, target: str, value: str) -> tuple[str, float, _Side] | None:
    """What the history says about (`target`, `value`): each item counted once, by its latest feedback."""
    found = store.feedback_about(profile, target, value, newest=_TITLES_NAMED)
    return _belief(_Side(*found[1]), _Side(*found[-1]))


def _stated_covers(prefs: Sequence[Preference], target: str, value: str) -> bool:
    """Whether the user already said this in their own words (or blocked it)."""
    from shieldrec.ranking.filters import phrase_in

    for p in prefs:
        if p.origin == "learned" or p.target != target:
            continue
        if _key(p.value) == _key(value) or (target == "topic" and phrase_in(value, p.value)):
            return True
    return False


def learn(store: Store, profile: Profile, item: Item) -> list[MemoryChange]:
    """Re-derive the learned entries touched by feedback on `item`; write the changes at once."""
    keys = _keys(item)
    if not keys:
        return []
    changes: list[MemoryChange] = []
    with tx(store.db):
        # Only the events about this item's tags and creator are read: a like costs the same
        # with 3,000 history entries as with none.
        store.index_history(profile, _keys)
        prefs = store.preferences(profile)
        for target, value in keys:
            learned = [p for p in prefs if p.origin == "learned" and p.target == target
                       and _key(p.value) == _key(value)]
            belief = None if _stated_covers(prefs, target, value) else _read(store, profile, target, value)
            keep: Preference | None = None
            for p in learned:
                if belief is not None and p.kind == belief[0] and keep is None:
                    keep = p
                    continue
                store.remove_preference(profile, p.id)  # type: ignore[arg-type]
                changes.append(MemoryChange("dropped", p, before=p))
            if belief is None:
                continue
            kind, weight, side = belief
            text = evidence(side)
            if keep is None:
                pref = Preference(kind=kind, target=target, value=value, weight=round(weight, 2),
                                  origin="learned", evidence=text)
                pref.id = store.add_preference(profile, pref)
                changes.append(MemoryChange("added", pref))
            elif keep.evidence != text or abs(keep.weight - weight) > 1e-6:
                store.update_preference(profile, keep.id, weight=round(weight, 2), evidence=text)  # type: ignore[arg-type]
                after = Preference(**{**keep.__dict__, "weight": round(weight, 2), "evidence": text})
                changes.append(MemoryChange("updated", after, before=keep))
    return changes


def _now_held(store: Store, profile: Profile, p: Preference) -> Preference | None:
    """The learned entry `p` is now: by its id, else by what it says (an undo that restores a dropped entry
    writes it back under a new id, and an older undo must still find it)."""
    held = store.preferences(profile)
    same = [c for c in held if c.id == p.id]
    same = same or [c for c in held if (c.kind, c.target, c.value.casefold(), c.origin)
                    == (p.kind, p.target, p.value.casefold(), p.origin)]
    return same[0] if same else None


def revert(store: Store, profile: Profile, changes: Sequence[MemoryChange]) -> None:
    """Undo `changes` (newest first), leaving the learned entries as they were before them."""
    with tx(store.db):
        for change in reversed(changes):
            p = change.preference
            now = _now_held(store, profile, p)
            if change.action == "added" and now is not None:
                store.remove_preference(profile, now.id)  # type: ignore[arg-type]
            elif change.action == "updated" and change.before is not None and now is not None:
                store.update_preference(profile, now.id, weight=change.before.weight,  # type: ignore[arg-type]
                                        evidence=change.before.evidence)
            elif change.action == "dropped" and change.before is not None:
                b = change.before
                store.add_preference(profile, Preference(kind=b.kind, target=b.target, value=b.value,
                                                         weight=b.weight, origin=b.origin,
                                                         evidence=b.evidence, created_at=b.created_at))


@dataclass
class Tally:
    """Feedback on one tag or creator that has not (yet) become a belief."""

    target: str  # topic | creator
    value: str
    liked: int
    disliked: int

    def needs(self) -> str:
        """What would turn it into a learned like or avoid, in words."""
        lead = max(self.liked, self.disliked)
        kind = "likes" if self.liked >= self.disliked else "dislikes"
        more = max(MIN_EVIDENCE - lead, MARGIN - abs(self.liked - self.disliked))
        if more <= 0:  # enough already: beliefs are drawn when feedback touches them
            return f"enough {kind} for a belief: the next feedback on it makes it one"
        return f"{more} more {kind if more > 1 else kind[:-1]} would make it a belief"


def _count(history: Sequence[HistoryEvent], target: str, value: str) -> tuple[int, int]:
    """(liked, disliked) items about (`target`, `value`), each counted once by its latest feedback,
    as `Store.feedback_about` counts them."""
    key = (target, value if target == "creator" else _key(value))
    latest: dict[str, HistoryEvent] = {}
    for ev in history:
        if (ev.positive or ev.negative) and key in _keys(ev.item):
            latest[ev.item.item_id] = ev
    liked = sum(1 for ev in latest.values() if ev.positive)
    return liked, len(latest) - liked


def pending(history: Sequence[HistoryEvent], prefs: Sequence[Preference]) -> list[Tally]:
    """Tags and creators the user's feedback touched that the memory does not hold as beliefs,
    most talked-about first: what it has noticed but does not believe yet."""
    keys = list(dict.fromkeys(k for ev in history if ev.positive or ev.negative for k in _keys(ev.item)))
    learned = {(p.target, _key(p.value)) for p in prefs if p.origin == "learned"}
    out = []
    for target, value in keys:
        if (target, _key(value)) in learned or _stated_covers(prefs, target, value):
            continue
        out.append(Tally(target, value, *_count(history, target, value)))
    out.sort(key=lambda t: -(t.liked + t.disliked))
    return out
