"""The description cap (Pipeline._capped, settings ranking.description_cap): whatever a description
says, its item scores within the cap of what it scores with no description at all; and a paragraph
the user asks with is matched, never taken for a list of interest words aimed at them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from shieldrec.eval import attacks as A
from shieldrec.items import HistoryEvent
from shieldrec.ranking import Pipeline
from shieldrec.ranking.labels import CAUGHT
from shieldrec.ranking.pipeline import CAP
from shieldrec.ranking.types import RankRequest, RankResult


def scores(result: RankResult) -> dict[str, float]:
    return {r.item.item_id: r.score for r in result.ranking}


@pytest.fixture(scope="module")
def request_() -> RankRequest:
    """Twenty real films with their Wikipedia plots, one liked film, and a request."""
    sc = A.scenario(Path(__file__).resolve().parents[2] / "profiles" / "maya.toml")
    return RankRequest(candidates=[*sc.candidates, sc.targets[0]], instruction="a hopeful film about robots",
                       history=[HistoryEvent(item=sc.candidates[0], event="liked")])


@pytest.mark.parametrize(("ranker", "cap"), [("learned", 0.05), ("fusion", 0.3)])
def test_every_items_score_stays_within_the_cap_of_its_score_without_a_description(
        request_: RankRequest, make_pipeline: Callable[..., Pipeline], ranker: str, cap: float) -> None:
    pipeline = make_pipeline(ranker=ranker, description_cap=cap)
    with_text = scores(pipeline.rank(request_))
    without = scores(pipeline.rank(replace(request_, candidates=[replace(c, text="") for c in request_.candidates])))
    moved = {k: abs(with_text[k] - without[k]) for k in with_text}
    assert max(moved.values()) <= cap + 1e-6
    # The cap holds something back: without it, the descriptions move the scores further.
    free = scores(make_pipeline(ranker=ranker, description_cap=1000.0).rank(request_))
    assert max(abs(free[k] - without[k]) for k in free) > cap


def test_what_the_cap_held_back_shows_in_the_score(request_: RankRequest,
                                                   make_pipeline: Callable[..., Pipeline]) -> None:
    result = make_pipeline(description_cap=0.05).rank(request_)
    held = [r for r in result.ranking if CAP in r.components]
    assert held and all(abs(sum(r.components.values()) - r.score) < 1e-4 for r in held)


def test_a_paragraph_asked_for_is_never_taken_for_a_list_aimed_at_the_user(
        request_: RankRequest, make_pipeline: Callable[..., Pipeline]) -> None:
    # A plot's opening as the request (the words of a review, a paragraph about a film): the film it
    # describes shares its words because it matches, not because its text is a list aimed at the user
    # (the stuffing check once put it last). The fusion finds it; the learned ranker, under the cap and
    # the passage check, sometimes does not (docs/ranking.md, the described/long cell).
    for ranker in ("learned", "fusion"):
        pipeline = make_pipeline(ranker=ranker)
        for target in request_.candidates[3:8]:
            result = pipeline.rank(replace(request_, instruction=" ".join(target.text.split()[:40])))
            [got] = [r for r in result.ranking if r.item.item_id == target.item_id]
            assert not CAUGHT & set(got.labels), (target.title, got.labels)
            if ranker == "fusion":
                assert [r.item.item_id for r in result.ranking].index(target.item_id) < 3, target.title
