"""The evaluation's arithmetic, checked against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from shieldrec.errors import InvalidInput
from shieldrec.eval import METHODS, choose
from shieldrec.eval.metrics import hit_at, ndcg_at, rank_of, reciprocal_rank, summarize


def test_rank_of_counts_from_one_and_puts_a_lost_target_last() -> None:
    assert rank_of("b", ["a", "b", "c"]) == 2
    assert rank_of("z", ["a", "b", "c"]) == 4


def test_ndcg_of_a_single_relevant_item() -> None:
    assert ndcg_at(1, 1) == 1.0
    assert ndcg_at(3, 5) == pytest.approx(0.5)  # 1 / log2(4)
    assert ndcg_at(7, 10) == pytest.approx(1 / 3)  # 1 / log2(8)
    assert ndcg_at(7, 5) == 0.0
    assert ndcg_at(2, 1) == 0.0
    assert ndcg_at(2, 20) == pytest.approx(1 / math.log2(3))


def test_hits_and_reciprocal_rank() -> None:
    assert [hit_at(r, 3) for r in (1, 3, 4)] == [1.0, 1.0, 0.0]
    assert reciprocal_rank(4) == 0.25


def test_summary_over_users() -> None:
    got = summarize([1, 3, 7, 25])
    assert got["NDCG@1"] == pytest.approx(0.25)
    assert got["NDCG@5"] == pytest.approx((1 + 0.5) / 4)
    assert got["NDCG@10"] == pytest.approx((1 + 0.5 + 1 / 3) / 4)
    assert got["NDCG@20"] == pytest.approx((1 + 0.5 + 1 / 3) / 4)
    assert got["HR@1"] == pytest.approx(0.25)
    assert got["HR@3"] == pytest.approx(0.5)
    assert got["MRR"] == pytest.approx((1 + 1 / 3 + 1 / 7 + 1 / 25) / 4)
    assert list(got) == ["NDCG@1", "NDCG@5", "NDCG@10", "NDCG@20", "HR@1", "HR@3", "MRR"]


def test_a_perfect_and_a_hopeless_ranker() -> None:
    assert set(summarize([1] * 10).values()) == {1.0}
    hopeless = summarize([21] * 10)  # the target always last of 20: only MRR sees it at all
    assert hopeless.pop("MRR") == pytest.approx(1 / 21)
    assert set(hopeless.values()) == {0.0}


def test_methods_are_chosen_by_name() -> None:
    assert choose(None) == list(METHODS)
    assert choose(["popularity", "random"]) == ["random", "popularity"]  # registry order
    with pytest.raises(InvalidInput, match="unknown method.*'best'.*known: shieldrec pipeline"):
        choose(["best"])
