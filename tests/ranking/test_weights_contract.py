"""The shipped weights and the feature code they were trained on: the same schema, and not stale.

`scripts/train_ranker.py --check` fits a small model on MovieLens-100K lists computed by this code and
compares: weights trained on other feature code rank those lists clearly worse than the retrain does."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from shieldrec.eval.methods import EvalContext
from shieldrec.ranking import Embedder
from shieldrec.ranking import learned as L
from shieldrec.ranking.features import FEATURES, schema_fingerprint

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train_ranker.py"


def trainer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("train_ranker", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["train_ranker"] = module
    spec.loader.exec_module(module)
    return module


def test_the_shipped_weights_carry_this_codes_schema() -> None:
    weights = L.load_weights()
    assert weights.schema == schema_fingerprint()
    assert set(weights.gates) == {"instructed", "counted"}


def test_the_shipped_weights_are_current_and_stale_ones_are_caught(embedder: Embedder,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    T = trainer()
    pool = T.check_lists(EvalContext(seed=0, _embedder=embedder), None, 0)
    assert len(pool) >= 100
    shipped = L.LearnedRanker(L.load_weights())
    assert T.stale(shipped, pool, 30, 0) == ""
    # Feature code changed under the weights (one feature now computed as another): caught, and said so.
    [a, b] = [FEATURES.index("instruction"), FEATURES.index("history_max")]
    moved = [type(t)(t.x[:, [b if k == a else a if k == b else k for k in range(len(FEATURES))]], t.target)
             for t in pool]
    assert "the features under them changed" in T.stale(shipped, moved, 30, 0)
    # Weights from another training, under this code's schema, are caught the same way.
    other = L.load_weights()
    other.layers = [(other.layers[0][0] * 0.5, other.layers[0][1])]
    assert "the features under them changed" in T.stale(L.LearnedRanker(other), pool, 30, 0)


def test_leaving_a_shape_out_trains_without_it_and_scores_it_on_test_users(embedder: Embedder,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    T = trainer()
    ctx = EvalContext(seed=0, _embedder=embedder)
    only = ("titles/uniform/none", "titles/uniform/short/h4/n10")
    lists = T.build_lists(ctx, 12, None, 0, ("movielens-100k",), only)
    assert set(lists) == {("movielens-100k", name) for name in only} and all(lists.values())
    seen: list[int] = []
    fit = T.fit
    monkeypatch.setattr(T, "fit", lambda pool, epochs, seed, card=None: seen.append(len(pool)) or fit(pool, epochs,
                                                                                                     seed, card))
    args = type("Args", (), {"epochs": 5, "seed": 0, "test_users": 10, "data": None})()
    table = T.leave_out(ctx, lists, "shape", args).splitlines()
    # one fit per shape, each on the other shape's lists alone, and one row per held-out cell
    assert seen == [len(lists[("movielens-100k", name)]) for name in reversed(sorted(only))]
    assert table[0] == T.HEAD[0] and len(table) == 2 + len(only)
    assert all(row.startswith("| movielens-100k | titles/uniform/") and row.count("[") == 3 for row in table[2:])
