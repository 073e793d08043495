"""The shapes a platform sends, the split by source, and the five-line baseline, on the real data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from shieldrec.cli import cli
from shieldrec.errors import InvalidInput
from shieldrec.eval import shapes as S
from shieldrec.eval.baseline import scores
from shieldrec.eval.cases import is_test_user
from shieldrec.eval.sources import MissingDataset
from shieldrec.items import HistoryEvent, Item
from shieldrec.ranking import Embedder
from shieldrec.ranking.types import RankRequest


def corpus(name: str) -> S.Corpus:
    # Helper A's data fixture does not exist yet: skip (a failure in CI, conftest) where the data is absent.
    try:
        return S.corpus(name)
    except MissingDataset as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(device="cpu")


def test_a_user_is_train_or_test_in_every_variant_of_a_source() -> None:
    # Before the split went by source, about 70 % of MovieLens-100K's test users trained in the plots variant.
    users = [str(u) for u in range(1, 944)]
    assert [is_test_user("movielens-100k", u) for u in users] == [is_test_user("movielens-100k-plots", u) for u in users]
    assert [is_test_user("ml-latest-small", u) for u in users] == [is_test_user("ml-latest-small-tags", u) for u in users]
    assert 0.25 < sum(is_test_user("movielens-100k", u) for u in users) / len(users) < 0.35
    ml = corpus("movielens-100k")
    test = {c.user_id for shape in ("titles/uniform/none", "described/uniform/none")
            for c in S.lists(ml, shape, "test")}
    train = {c.user_id for shape in ("titles+counts/popular/none", "titles/uniform/long/h4/n10")
             for c in S.lists(ml, shape, "train")}
    assert test and train and not test & train


def test_titles_only_lists_carry_nothing_but_titles() -> None:
    ml = corpus("movielens-100k")
    bare = S.lists(ml, S.Shape(), "test", users=20)
    full = S.lists(ml, S.Shape(meta=S.FULL), "test", users=20)
    assert len(bare) == len(full) == 20
    for case in bare:
        items = [*case.request.candidates, *(e.item for e in case.request.history)]
        assert all(not i.text and not i.creator and not i.meta for i in items)
        assert not case.request.instruction and len(case.request.candidates) == 20
    assert all("rating_count" in c.meta and c.meta.get("genres") is not None for case in full for c in case.request.candidates)
    described = S.lists(ml, "described/uniform/none", "test", users=10)
    assert described and all(c.text for case in described for c in case.request.candidates)


def test_history_is_the_users_earlier_items_in_time_order() -> None:
    ml = corpus("movielens-100k")
    for case in S.lists(ml, S.Shape(meta=S.FULL), "test", users=30):
        when = {i: at for i, _, at in ml.events[case.user_id]}
        times = [e.at for e in case.request.history]
        assert times == sorted(times) and max(times) < when[case.target]
        assert not {c.item_id for c in case.request.candidates} & {e.item.item_id for e in case.request.history}
    short = S.lists(ml, "titles/uniform/short/h4/n10", "test", users=10)
    assert all(len(c.request.history) <= 4 and len(c.request.candidates) == 10 for c in short)


def _log_gap(cases: list, counts: dict) -> float:
    gaps = [abs(math.log1p(counts[c.item_id]) - math.log1p(counts[case.target]))
            for case in cases for c in case.request.candidates if c.item_id != case.target]
    return float(np.median(gaps))


def test_popularity_matched_negatives_have_counts_near_the_targets() -> None:
    ml = corpus("movielens-100k")
    popular = S.lists(ml, "titles/popular/none", "test", users=30)
    uniform = S.lists(ml, "titles/uniform/none", "test", users=30)
    assert _log_gap(popular, ml.counts) < 0.2 < _log_gap(uniform, ml.counts) / 4
    # A ranker reading counts cannot tell the target by them: it is not the most counted in most lists.
    top = sum(max(case.request.candidates, key=lambda c: ml.counts[c.item_id]).item_id == case.target for case in popular)
    assert top < len(popular) / 3


def test_platform_filled_and_co_consumed_candidates_come_from_other_users_histories() -> None:
    ml = corpus("movielens-100k")
    for shape in ("titles/platform/none", "titles/co-consumed/none"):
        got = S.lists(ml, shape, "test", users=10)
        assert len(got) == 10
        for case in got:
            consumed = {i for i, _, _ in ml.events[case.user_id]}
            negatives = [c.item_id for c in case.request.candidates if c.item_id != case.target]
            assert len(negatives) == 19 and not set(negatives) & consumed
    # What a platform proposes is what many people watch: far more counted than a uniform draw.
    platform = S.lists(ml, "titles/platform/none", "test", users=20)
    uniform = S.lists(ml, "titles/uniform/none", "test", users=20)

    def mean_count(cases: list) -> float:
        return float(np.mean([ml.counts[c.item_id] for k in cases for c in k.request.candidates]))

    assert mean_count(platform) > 2 * mean_count(uniform)


def test_instructions_short_long_and_off_target() -> None:
    ml = corpus("movielens-100k")
    for case in S.lists(ml, "titles/uniform/short", "test", users=10):
        assert case.request.instruction in ml.short[case.target]
    longs = S.lists(ml, "titles/uniform/long", "test", users=10)
    assert longs and all(ml.items[c.target].text.startswith(c.request.instruction) for c in longs)
    assert all(len(c.request.instruction) <= S.LONG_CHARS for c in longs)
    for case in S.lists(ml, "titles/popular/off-target", "test", users=10):
        assert case.request.instruction and case.request.instruction != ml.long.get(case.target)


def test_shape_names_parse_back_and_bad_ones_say_why() -> None:
    for shape in S.SHAPES:
        assert S.Shape.parse(shape.name) == shape
    with pytest.raises(InvalidInput, match="'sorted'"):
        S.Shape.parse("titles/sorted/none")
    with pytest.raises(InvalidInput, match="hN"):
        S.Shape.parse("titles/uniform/none/x4")


def test_the_baseline_is_the_five_line_formula(embedder: Embedder) -> None:
    def item(i: str, title: str, **meta: object) -> Item:
        return Item(item_id=i, title=title, meta=dict(meta))

    cands = [item("a", "A haunted house on a hill", rating_count=10_000, genres=["Horror"]),
             item("b", "Cooking pasta at home", rating_count=1),
             Item(item_id="c", title="Space station", text="Astronauts repair a failing orbital lab.")]
    history = [HistoryEvent(item=item("h1", "Ghost stories for dark nights"), event="liked"),
               HistoryEvent(item=item("h2", "Italian recipes"), event="disliked")]
    request = RankRequest(candidates=cands, instruction="something scary", history=history)

    def cos(x: str, y: str) -> float:
        a, b = embedder.encode([x])[0], embedder.encode([y])[0]
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    texts = ["A haunted house on a hill", "Cooking pasta at home",
             "Space station. Astronauts repair a failing orbital lab."]
    by_hand = [cos(t, "something scary") + 0.5 * max(cos(t, "Ghost stories for dark nights"), cos(t, "Italian recipes"))
               for t in texts]
    np.testing.assert_allclose(scores(request, embedder), by_hand, atol=1e-5)
    # The disliked history item counts like any other: pasta is pulled up by "Italian recipes".
    assert cos(texts[1], "Italian recipes") > 0.3


def test_quick_suite_prints_the_table_and_the_worst_cell() -> None:
    res = CliRunner().invoke(cli, ["eval", "suite", "--quick", "--users", "5", "--source", "movielens-100k"])
    assert res.exit_code == 0, res.output
    assert "| source | shape | lists | default ranker NDCG@10 |" in res.stdout and "five-line baseline HR@1" in res.stdout
    assert "| movielens-100k | titles/uniform/none | 5 |" in res.stdout
    worst = [line for line in res.stdout.splitlines() if line.startswith("worst cell: movielens-100k × ")]
    assert len(worst) == 1 and "default ranker - five-line baseline, NDCG@10 = " in worst[0]

    got = CliRunner().invoke(cli, ["eval", "suite", "--format", "json", "--users", "6", "--source", "movielens-100k",
                                   "--shape", "titles/uniform/none", "--shape", "titles+counts/popular/short/h4/n10"])
    assert got.exit_code == 0, got.output
    doc = json.loads(got.stdout)
    assert [c["shape"] for c in doc["cells"]] == ["titles/uniform/none", "titles+counts/popular/short/h4/n10"]
    for cell in doc["cells"]:
        for v in [*cell["NDCG@10"].values(), *cell["HR@1"].values(), cell["default_minus_baseline"]]:
            assert v["low"] <= v["mean"] <= v["high"]
    gaps = {c["shape"]: c["default_minus_baseline"]["mean"] for c in doc["cells"]}
    assert doc["worst"]["mean"] == min(gaps.values()) and doc["worst"]["shape"] in gaps

    bad = CliRunner().invoke(cli, ["eval", "suite", "--shape", "titles/sorted/none"])
    assert bad.exit_code == 1 and "not a shape: 'sorted'" in bad.output and "Traceback" not in bad.output
