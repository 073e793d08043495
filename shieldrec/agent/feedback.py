"""Feedback from the user, written to the profile at once, each with the means to undo it."""

from __future__ import annotations

from dataclasses import dataclass, field

from shieldrec.agent import memory
from shieldrec.agent.memory import MemoryChange
from shieldrec.errors import InvalidInput, ShieldRecError
from shieldrec.items import HistoryEvent, Item, Preference
from shieldrec.sanitize import clean_text
from shieldrec.store import Profile, Store
from shieldrec.store.db import tx
from shieldrec.store.disputes import Dispute
from shieldrec.store.later import LaterEntry

EVENTS = {"like": "liked", "dislike": "disliked", "not_now": "not_now", "rate": "rated"}
STARS = (1, 2, 3, 4, 5)
BLOCK_TARGETS = ("creator", "topic", "source", "item")


class NothingToUndo(ShieldRecError):
    pass


@dataclass
class Feedback:
    """What one action wrote; `undo` removes exactly that (the undo token)."""

    action: str  # like | dislike | not_now | block
    description: str  # "liked 'Serenity'", "blocked creator 'X'"
    item: Item | None = None
    event_id: int | None = None
    preference_id: int | None = None
    learned: list[MemoryChange] = field(default_factory=list)
    later_id: int | None = None  # a watch-list entry it added
    later_removed: LaterEntry | None = None  # one it took off (an undo puts it back)
    dispute_id: int | None = None
    undone: bool = False

    @property
    def wrote(self) -> bool:
        """Whether it changed anything (an undo has something to take back)."""
        return any(x is not None for x in (self.event_id, self.preference_id, self.later_id, self.later_removed,
                                           self.dispute_id))

    def summary(self) -> str:
        """The action and what the agent learned from it, in one line."""
        extra = [c.describe() for c in self.learned]
        return self.description[:1].upper() + self.description[1:] + ("; " + "; ".join(extra) if extra else "") + "."


def record_event(store: Store, profile: Profile, item: Item, action: str, instruction: str = "",
                 rating: int | None = None) -> Feedback:
    """like / dislike / not_now / rate: a history event, then whatever it teaches the memory."""
    if action not in EVENTS:
        raise InvalidInput(f"unknown feedback {action!r}")
    if (action == "rate") != (rating is not None) or (rating is not None and rating not in STARS):
        raise InvalidInput("a rating is a whole number of stars from 1 to 5")
    event = EVENTS[action]
    with tx(store.db):
        event_id = store.add_event(profile, HistoryEvent(
            item=item, event=event, rating=float(rating) if rating is not None else None,
            instruction=clean_text(instruction, 1000)))
        learned = memory.learn(store, profile, item) if action != "not_now" else []
    verb = {"like": "liked", "dislike": "disliked", "not_now": "not now:", "rate": f"rated {rating}/5"}[action]
    return Feedback(action, f"{verb} '{item.title}'", item=item, event_id=event_id, learned=learned)


def toggle_later(store: Store, profile: Profile, item: Item, instruction: str = "") -> Feedback:
    """Put an item on the watch list, or take it off when it is there already."""
    kept = store.later.find(profile.id, item.item_id)
    if kept is not None:
        assert kept.id is not None
        store.later.remove(profile.id, kept.id)
        return Feedback("later", f"took '{item.title}' off your watch list", item=item, later_removed=kept)
    entry_id = store.later.add(profile.id, LaterEntry(item, clean_text(instruction, 1000)))
    return Feedback("later", f"kept '{item.title}' for later", item=item, later_id=entry_id)


def record_dispute(store: Store, profile: Profile, item: Item, reason: str, instruction: str = "") -> Feedback:
    """"This reason is wrong": kept with the item and the request it was given for."""
    reason = clean_text(reason, 400)
    if not reason:
        raise InvalidInput("there is no reason to dispute")
    ident = store.disputes.add(profile.id, Dispute(item.item_id, item.title, reason, clean_text(instruction, 1000)))
    return Feedback("dispute", f"noted that “{reason}” is wrong for '{item.title}'", item=item, dispute_id=ident)


def record_block(store: Store, profile: Profile, target: str, value: str, item: Item | None = None) -> Feedback:
    if target not in BLOCK_TARGETS:
        raise InvalidInput(f"cannot block a {target!r} (one of {', '.join(BLOCK_TARGETS)})")
    value = clean_text(value, 300)
    if not value:
        raise InvalidInput(f"there is no {target} to block on this item")
    what = f"{target} '{value}'"
    for p in store.preferences(profile):
        if p.kind == "block" and p.target == target and p.value.casefold() == value.casefold():
            return Feedback("block", f"{what} was already blocked", item=item)
    pref_id = store.add_preference(profile, Preference(kind="block", target=target, value=value, origin="stated"))
    return Feedback("block", f"blocked {what}", item=item, preference_id=pref_id)


def undo(store: Store, profile: Profile, fb: Feedback) -> None:
    """Remove what `fb` wrote, in one transaction; entries already deleted by hand are skipped."""
    if fb.undone:
        raise NothingToUndo(f"'{fb.description}' was already undone")
    with tx(store.db):
        if fb.event_id is not None and store.has_event(profile, fb.event_id):
            store.remove_event(profile, fb.event_id)
        if fb.preference_id is not None and any(p.id == fb.preference_id for p in store.preferences(profile)):
            store.remove_preference(profile, fb.preference_id)
        memory.revert(store, profile, fb.learned)
        if fb.later_id is not None:
            # The item's entry, whatever its id now: taking it off and undoing that puts it back as a new row.
            kept = store.later.find(profile.id, fb.item.item_id) if fb.item is not None else None
            if kept is not None and kept.id is not None:
                store.later.remove(profile.id, kept.id)
        if fb.later_removed is not None:
            store.later.add(profile.id, fb.later_removed)
        if fb.dispute_id is not None and any(d.id == fb.dispute_id for d in store.disputes.list(profile.id)):
            store.disputes.remove(profile.id, fb.dispute_id)
    fb.undone = True
