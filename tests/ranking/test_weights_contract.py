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
