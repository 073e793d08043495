"""Feedback and undo against the real store, as long sequences hypothesis chooses: likes, dislikes, ratings,
"not now", the watch list, disputes and blocks, with undos (latest first, as the app's undo does) in between.

After every step the profile is exactly what replaying the actions still standing gives on a fresh profile,
learned preferences included: an undo takes back what its action wrote and nothing else. Undoing everything
gives back the profile as it was.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from shieldrec.agent import feedback
from shieldrec.items import Item
from shieldrec.store import Profile, Store

GENRES = (["Musical"], ["Horror"], ["Comedy", "Family Film"], ["Musical", "Comedy"], ["Science Fiction"])
CREATORS = ("Ann Lee", "Bo Chan", "")
ITEMS = [Item.from_untrusted({"id": f"m{n}", "title": f"Film {n}", "creator": CREATORS[n % 3],
                              "meta": {"genres": GENRES[n % len(GENRES)]}}, platform="shop") for n in range(8)]
items = st.sampled_from(ITEMS)


def _state(store: Store, profile: Profile) -> dict[str, Any]:
    """What the user would see of the profile: preferences, history, watch list, disputed reasons."""
    return {
        "preferences": sorted((p.kind, p.target, p.value, p.origin, round(p.weight, 9), p.evidence)
                              for p in store.preferences(profile)),
        "history": [(e.item.item_id, e.event, e.rating, e.instruction) for e in store.history(profile)],
        "later": sorted(e.item.item_id for e in store.later.list(profile.id)),
        "disputes": sorted((d.item_id, d.reason) for d in store.disputes.list(profile.id)),
    }


def _apply(store: Store, profile: Profile, action: tuple[Any, ...]) -> feedback.Feedback:
    kind, item, extra = action
    if kind == "rate":
        return feedback.record_event(store, profile, item, "rate", "tonight", rating=extra)
    if kind == "later":
        return feedback.toggle_later(store, profile, item, "tonight")
    if kind == "dispute":
        return feedback.record_dispute(store, profile, item, extra, "tonight")
    if kind == "block":
        return feedback.record_block(store, profile, "creator" if item.creator else "item",
                                     item.creator or item.item_id, item)
    return feedback.record_event(store, profile, item, kind, "tonight")


class FeedbackAndUndo(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.store = Store(Path(self.tmp.name) / "profiles.db")
        self.profile = self.store.create_profile("ana")
        self.replays = Store(Path(self.tmp.name) / "replays.db")  # each replay in a profile of its own
        self.initial = _state(self.store, self.profile)
        self.done: list[tuple[tuple[Any, ...], feedback.Feedback]] = []  # the undo stack
        self.just_undone = False

    def _do(self, action: tuple[Any, ...]) -> None:
        token = _apply(self.store, self.profile, action)
        if token.wrote:
            self.done.append((action, token))
        else:  # nothing written (a block already there): the profile must not have moved
            assert _state(self.store, self.profile) == self._replayed()

    @rule(kind=st.sampled_from(["like", "dislike", "not_now"]), item=items)
    def react(self, kind: str, item: Item) -> None:
        self._do((kind, item, None))

    @rule(item=items, stars=st.integers(1, 5))
    def rate(self, item: Item, stars: int) -> None:
        self._do(("rate", item, stars))

    @rule(item=items)
    def later(self, item: Item) -> None:
        self._do(("later", item, None))

    @rule(item=items, reason=st.sampled_from(["matches your love of musicals", "by an author you like"]))
    def dispute(self, item: Item, reason: str) -> None:
        self._do(("dispute", item, reason))

    @rule(item=items)
    def block(self, item: Item) -> None:
        self._do(("block", item, None))

    @precondition(lambda self: bool(self.done))
    @rule()
    def undo(self) -> None:
        _, token = self.done.pop()
        feedback.undo(self.store, self.profile, token)
        assert token.undone
        self.just_undone = True

    def _replayed(self) -> dict[str, Any]:
        profile = self.replays.create_profile(f"replay{len(self.replays.profiles())}")
        for action, _ in self.done:
            _apply(self.replays, profile, action)
        return _state(self.replays, profile)

    @invariant()
    def the_profile_is_the_replay_of_what_stands(self) -> None:
        state = _state(self.store, self.profile)
        if not self.done:
            assert state == self.initial
        elif self.just_undone:  # replaying costs: checked where it can go wrong, after each undo
            assert state == self._replayed()
        self.just_undone = False

    def teardown(self) -> None:
        while self.done:
            feedback.undo(self.store, self.profile, self.done.pop()[1])
        assert _state(self.store, self.profile) == self.initial
        self.store.close()
        self.replays.close()
        self.tmp.cleanup()


# Each step writes to SQLite and each undo replays the profile: 60 sequences (under a minute), in CI as well.
FeedbackAndUndo.TestCase.settings = settings(max_examples=60, stateful_step_count=20, deadline=None,
                                             suppress_health_check=[HealthCheck.too_slow])
test_feedback_and_undo = pytest.mark.slow(FeedbackAndUndo.TestCase)
