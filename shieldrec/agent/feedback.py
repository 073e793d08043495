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

EVENTS = {"like": "liked", "dislike": "disliked", "not_now": "not_now"}
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
    undone: bool = False

    def summary(self) -> str:
        """The action and what the agent learned from it, in one line."""
        extra = [c.describe() for c in self.learned]
        return self.description[:1].upper() + self.description[1:] + ("; " + "; ".join(extra) if extra else "") + "."


def record_event(store: Store, profile: Profile, item: Item, action: str, instruction: str = "") -> Feedback:
    """like / dislike / not_now: a history event, then whatever it teaches the memory."""
    if action not in EVENTS:
        raise InvalidInput(f"unknown feedback {action!r}")
    event = EVENTS[action]
    with tx(store.db):
        event_id = store.add_event(profile, HistoryEvent(item=item, event=event,
                                                         instruction=clean_text(instruction, 1000)))
        learned = memory.learn(store, profile, item) if action != "not_now" else []
    verb = {"like": "liked", "dislike": "disliked", "not_now": "not now:"}[action]
    return Feedback(action, f"{verb} '{item.title}'", item=item, event_id=event_id, learned=learned)


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
    fb.undone = True
