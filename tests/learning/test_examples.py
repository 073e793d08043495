"""What feedback teaches: the lists it makes, and the rule for how much the personal model counts."""

from __future__ import annotations

import numpy as np

from shieldrec.items import HistoryEvent, Item
from shieldrec.learning import examples, personal
from shieldrec.store.learned import Impression


def _items(names: str) -> list[Item]:
    return [Item(item_id=x, title=x.upper()) for x in names]


def test_an_answer_with_feedback_teaches_what_was_passed_over_above_the_liked_item() -> None:
    a, b, c, d, e = _items("abcde")
    shown = Impression([a, b, c, d, e], "something calm", at=10.0)
    history = [HistoryEvent(item=c, event="liked", at=11.0), HistoryEvent(item=b, event="not_now", at=12.0)]
    (judged,) = examples.build(history, [shown])
    assert judged.gains == {"a": examples.SKIPPED, "b": examples.NOT_NOW, "c": 1.0}
    assert judged.request.instruction == "something calm"
    assert [it.item_id for it in judged.request.candidates] == ["a", "b", "c"]  # d and e: never looked at


def test_feedback_no_answer_showed_is_pooled_with_only_earlier_history() -> None:
    items = _items("pqrst")
    history = [HistoryEvent(item=it, event=kind, at=float(k))
               for k, (it, kind) in enumerate(zip(items, ["liked", "disliked", "liked", "rated", "disliked"]))]
    history[3].rating = 3.0
    (pool,) = examples.build(history, [])
    assert pool.gains == {"p": 1.0, "q": -1.0, "r": 1.0, "s": 0.0, "t": -1.0}
    assert pool.request.history == []  # nothing before the pool's first event
    assert examples.build(history, [], since=3.5) == []  # after a reset: one dislike teaches no order


def test_the_blend_grows_with_evidence_and_is_zero_for_a_handful_of_events() -> None:
    assert personal.blend(0) == personal.blend(5) == personal.blend(personal.MIN_EVENTS - 1) == 0.0
    weights = [personal.blend(n) for n in (10, 40, 100, 1000, 5000)]
    assert weights == sorted(weights) and weights[1] == 0.5 and weights[-1] > 0.99
    assert personal.blend(1000, trust=0.0) == 0.0


def test_the_fit_learns_the_users_order_and_keeps_the_prior_where_feedback_is_silent() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    x[:, 2] = 0.0  # a feature the feedback never varies
    gains = np.where(x[:, 0] - x[:, 1] > 0, 1.0, -1.0).astype(np.float32)  # the user likes feature 0, not 1
    lists = [(x[i : i + 10], np.zeros(10, dtype=np.float32), gains[i : i + 10]) for i in range(0, 200, 10)]
    pairs = personal.pairs(lists)
    h = personal.fit(pairs, 3)
    assert h[0] > 0 > h[1] and h[2] == 0.0
    assert personal.order_agreement(pairs, h) > 0.9 > 0.5 == personal.order_agreement(pairs, None)


def test_feedback_whose_features_are_not_numbers_teaches_nothing_instead_of_scrambling_lists() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    x[7, 1] = np.inf  # one damaged row (a stored vector cut short, an overflow) poisons every step of the fit
    gains = np.where(x[:, 0] > 0, 1.0, -1.0).astype(np.float32)
    pairs = personal.pairs([(x[i : i + 10], np.zeros(10, dtype=np.float32), gains[i : i + 10]) for i in range(0, 40, 10)])
    h = personal.fit(pairs, 3)
    assert np.array_equal(h, np.zeros(3, dtype=np.float32))
