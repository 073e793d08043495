"""The evaluation suite and leave-one-dataset-out, on small slices of the real data."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner

from shieldrec.cli import cli
from shieldrec.eval import suite
from shieldrec.eval.cases import Case
from shieldrec.eval.methods import FIVE_LINE, FUSION, LEARNED, RANDOM, SUITE, EvalContext
from shieldrec.ranking import Embedder
from shieldrec.ranking.features import PRIOR
from shieldrec.ranking.learned import TrainingList, train
from shieldrec.settings import Settings

HISTORY = 30  # the slices keep each history's latest events only: the protocol, at a test's cost


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(device="cpu")


def sliced(chosen: list[Case]) -> list[Case]:
    return [replace(c, request=replace(c.request, history=c.request.history[-HISTORY:])) for c in chosen]


def test_suite_command_reports_every_method_and_history_band() -> None:
    res = CliRunner().invoke(cli, ["eval", "suite", "--dataset", "movielens-100k", "--users", "24", "--json"])
    assert res.exit_code == 0, res.output
    [result] = json.loads(res.stdout)["results"]
    assert result["dataset"] == "movielens-100k" and result["cases"] == 24
    rows = {m["name"]: m for m in result["methods"]}
    assert list(rows) == list(SUITE)
    for row in rows.values():
        assert 0.0 <= row["NDCG@1"] <= row["NDCG@5"] <= row["NDCG@10"] <= 1.0
        assert row["HR@1"] <= row["HR@3"] and row["NDCG@1"] == row["HR@1"] and 0 < row["MRR"] <= 1
    bands = result["by_history_length"]
    assert sum(b["cases"] for b in bands.values()) == 24 and set(bands) <= {"≤10", "11–50", ">50"}
    assert all(set(b) == {"cases", *SUITE} for b in bands.values())
    assert set(result["learned_beats"]) == {"hand-set fusion", "embedding baseline", "popularity"}
    # Far apart even on 24 users: both ShieldRec rankers know more than chance.
    assert rows[LEARNED]["NDCG@10"] > rows[RANDOM]["NDCG@10"] + 0.1
    assert rows[FUSION]["NDCG@10"] > rows[RANDOM]["NDCG@10"] + 0.1

    table = CliRunner().invoke(cli, ["eval", "suite", "--dataset", "movielens-100k", "--users", "8",
                                     "--method", "random", "--method", "bm25"])
    assert table.exit_code == 0, table.output
    assert "| method | NDCG@1 | NDCG@5 | NDCG@10 | HR@1 | HR@3 | MRR | seconds |" in table.stdout
    assert "| bm25 |" in table.stdout and "learned" not in table.stdout
    assert "NDCG@10 by history length" in table.stdout
    unknown = CliRunner().invoke(cli, ["eval", "suite", "--dataset", "imdb"])
    assert unknown.exit_code == 1 and "unknown data set(s) 'imdb'" in unknown.output


def test_leave_one_dataset_out_on_a_small_slice(embedder: Embedder) -> None:
    # What is held out, and from what, is the point here; the passage check is measured in
    # tests/ranking/test_passages.py and costs this slice four times the encoding.
    settings = Settings()
    settings.ranking.passage_check = False
    ctx = EvalContext(seed=0, settings=settings, _embedder=embedder)
    # ml-latest-small's users tag from one movie to dozens: four users, their first cases only.
    train_users = {"movielens-100k": 16, "movielens-100k-plots": 10, "ml-latest-small-tags": 4, "book-crossing": 16}
    lists = {name: suite.dataset_lists(name, sliced(suite.cases(name, "train", n, seed=1)[:16]), ctx)
             for name, n in train_users.items()}
    assert all(len(ls) >= 10 for ls in lists.values())
    test = {name: sliced(suite.cases(name, "test", 10, seed=1)) for name in lists}
    seen: list[int] = []

    def fit(ls: list[TrainingList]):  # type: ignore[no-untyped-def]
        seen.append(len(ls))
        return train(ls, epochs=8, prior=PRIOR, prior_strength=0.01, seed=0, device="cpu")[0]

    held = suite.leave_one_out(lists, test, ctx, fit, methods=(RANDOM, FIVE_LINE, FUSION, LEARNED))
    assert [h.dataset for h in held] == list(lists)
    total = sum(len(ls) for ls in lists.values())
    assert seen == [total - len(lists[name]) for name in lists]  # never the held-out data set's lists
    for h in held:
        assert set(h.scores) == {RANDOM, FIVE_LINE, FUSION, LEARNED}
        assert all(0.0 <= v <= 1.0 for v in h.scores.values())
    mean = {m: sum(h.scores[m] for h in held) / len(held) for m in (RANDOM, LEARNED)}
    assert mean[LEARNED] > mean[RANDOM] + 0.1
    table = suite.format_lodo(held)
    assert table.splitlines()[0].startswith("| held-out data set | lists |") and "book-crossing" in table


def test_genre_instructions_ask_for_what_the_target_is() -> None:
    chosen = suite.cases("movielens-100k-plots", "train", 6, seed=2)
    asked = suite.genre_instructions(chosen)
    assert chosen and len(asked) == len(chosen)
    for original, case in zip(chosen, asked):
        assert original.request.instruction == "" and case.request.instruction
        assert case.target == original.target and case.request.candidates == original.request.candidates
    tagged = suite.cases("ml-latest-small-tags", "train", 2, seed=2)
    assert suite.genre_instructions(tagged) == []  # the users' own words are never replaced
