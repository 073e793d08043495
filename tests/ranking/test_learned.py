"""The learned ranker: its shipped weights, its device, and what it does to real rankings."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shieldrec.devices import torch_device
from shieldrec.errors import ModelError
from shieldrec.items import HistoryEvent
from shieldrec.ranking import Embedder, Pipeline, RankRequest
from shieldrec.ranking import learned as L
from shieldrec.ranking.features import FEATURES, GROUPS, MODEL_FEATURES, open_gates
from shieldrec.ranking.pipeline import CAP
from shieldrec.settings import RankingSettings, Settings

from .conftest import movie

SCIFI_LIKED = [2968, 1824, 2548]  # Star Wars II, Cars, The Iron Giant
CANDIDATES = [2380, 3657, 4718, 3082, 1996, 2034, 1492, 144, 474]


def request(**extra: object) -> RankRequest:
    history = [HistoryEvent(item=movie(i), event="liked", at=float(k)) for k, i in enumerate(SCIFI_LIKED)]
    return RankRequest(candidates=[movie(i) for i in CANDIDATES], history=history, **extra)  # type: ignore[arg-type]


@pytest.mark.slow  # asks torch whether there is a GPU
def test_device_choice_is_made_in_one_place(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    assert torch_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert torch_device("cpu") == "cpu" and torch_device("cuda") == "cuda"
    # No GPU here: what "auto" would pick on a machine where torch sees one.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert torch_device("auto") == torch_device(None) == "cuda"
    assert Embedder(device="auto").device == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert torch_device("auto") == "cpu" == Embedder(device="auto").device


def test_the_shipped_weights_load_without_torch() -> None:
    code = (
        "import sys; from shieldrec.ranking.learned import LearnedRanker\n"
        "r = LearnedRanker.shipped()\n"
        "print(r.version, len(r.weights.features), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    version, n, torch_loaded = out.stdout.split()
    assert version == "2" and int(n) == len(MODEL_FEATURES) and torch_loaded == "False"
    card = (Path(L.__file__).parent / "weights" / "README.md").read_text("utf-8")
    assert "Data it saw" in card and "Leave one shape out" in card and "Leave one domain out" in card
    # hubness models how a data set's lists were filled, not the user: the shipped model never reads it
    assert "hubness" not in MODEL_FEATURES


def test_scores_are_deterministic_and_the_torch_module_agrees(embedder: Embedder) -> None:
    import torch

    [(ids, x)] = Pipeline(RankingSettings(), embedder).features_many([request(instruction="a robot adventure")])
    assert x.shape == (len(CANDIDATES), len(FEATURES)) and ids == [f"movie-{i}" for i in CANDIDATES]
    first, second = L.LearnedRanker(L.load_weights()), L.LearnedRanker(L.load_weights())
    scores = first.score(x)
    assert np.array_equal(scores, second.score(x)) and np.array_equal(scores, first.score(x.copy()))
    with torch.no_grad():
        via_torch = first.module("cpu")(torch.from_numpy(x)).numpy()
    assert np.allclose(via_torch, scores, atol=1e-5)
    # A batch of requests, one per row of the first dimension: each read through its own gates.
    [(_, plain)] = Pipeline(RankingSettings(), embedder).features_many([request()])
    assert "instructed" in open_gates(x) and "instructed" not in open_gates(plain)
    with torch.no_grad():
        batch = first.module("cpu")(torch.from_numpy(np.stack([x, plain]))).numpy()
    assert np.allclose(batch[0], scores, atol=1e-5) and np.allclose(batch[1], first.score(plain), atol=1e-5)
    parts = first.contributions(x)
    assert set(parts) == set(GROUPS)
    total = sum(parts.values())
    assert np.allclose(total - total.mean(), scores - scores.mean(), atol=1e-5)


def test_broken_weights_are_refused_and_ranking_goes_on(tmp_path: Path, embedder: Embedder,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    good = L.load_weights().to_dict()
    cases = {
        "not json": "{",
        "unknown feature": json.dumps({**good, "features": ["no_such_feature", *good["features"][1:]]}),
        "wrong shape": json.dumps({**good, "shift": good["shift"][:-1]}),
        "not finite": json.dumps({**good, "scale": "nan"}).replace('"nan"', "NaN"),
        "other format": json.dumps({**good, "format": 99}),
        "other feature schema": json.dumps({**good, "schema": "1-00000000"}),
        "no feature schema": json.dumps({k: v for k, v in good.items() if k != "schema"}),
        "unknown gate": json.dumps({**good, "gates": {"sunny": good["layers"][0]["bias"] * len(good["features"])}}),
    }
    for what, text in cases.items():
        path = tmp_path / f"{what}.json"
        path.write_text(text, "utf-8")
        with pytest.raises(ModelError) as refused:
            L.LearnedRanker(L.load_weights(path))
        if "schema" in what:  # loudly, with what to do
            assert "retrain them (scripts/train_ranker.py)" in str(refused.value)

    def broken() -> L.LearnedRanker:
        raise ModelError("the ranker weights cannot be read (simulated); reinstall ShieldRec")

    monkeypatch.setattr(L.LearnedRanker, "shipped", staticmethod(broken))
    with caplog.at_level(logging.WARNING):
        result = Pipeline(RankingSettings(), embedder).rank(request())
    assert len(result.ranking) == len(CANDIDATES)
    assert "ranking with the hand-set fusion" in caplog.text
    assert set().union(*(r.components for r in result.ranking)) <= {"instruction", "history", "avoid", "lexical",
                                                                    "popularity"}


def test_the_learned_ranker_is_the_default_and_fusion_is_one_setting_away(embedder: Embedder) -> None:
    assert Settings().ranking.ranker == "learned"
    req = request(instruction="a robot adventure")
    learned = Pipeline(RankingSettings(), embedder).rank(req)
    fused = Pipeline(RankingSettings(ranker="fusion"), embedder).rank(req)
    assert [r.score for r in learned.ranking] != [r.score for r in fused.ranking]
    assert set().union(*(r.components for r in fused.ranking)) <= {"instruction", "history", "avoid", "lexical",
                                                                   "popularity", CAP}
    # How typical of the list an item is (hubness) is no part of the shipped model's score.
    plain = Pipeline(RankingSettings(), embedder).rank(request())
    assert "context" not in set().union(*(r.components for r in plain.ranking))
    # The parts explain every difference between two candidates' scores (what is left is one
    # request-wide constant, which moves nothing).
    gaps = [r.score - sum(r.components.values()) for r in learned.ranking]
    assert max(gaps) - min(gaps) < 1e-4


def test_a_profile_head_sits_on_top_of_the_prior(embedder: Embedder) -> None:
    req = request()
    prior = Pipeline(RankingSettings(diversity=0.0), embedder).rank(req)
    zero = Pipeline(RankingSettings(diversity=0.0), embedder, head=L.ResidualHead()).rank(req)
    assert [r.item.item_id for r in zero.ranking] == [r.item.item_id for r in prior.ranking]
    # A profile whose feedback says "the platform's own order is right" (a weight on platform_rank).
    weight = np.zeros(len(FEATURES), dtype=np.float32)
    weight[FEATURES.index("platform_rank")] = 100.0
    led = Pipeline(RankingSettings(diversity=0.0), embedder, head=L.ResidualHead(weight, events=40)).rank(req)
    assert [r.item.item_id for r in led.ranking] == [c.item_id for c in req.candidates]
    # the head's push is the "context" part (the platform's order), for every item but the one in the
    # middle of the platform's list, where that order says nothing
    middle = req.candidates[(len(req.candidates) - 1) // 2].item_id
    assert all("context" in r.components for r in led.ranking if r.item.item_id != middle)
    with pytest.raises(ModelError):
        L.ResidualHead(np.zeros(3))


LIKED_SF = [2968, 2548, 2034]  # Star Wars II, The Iron Giant, Alien Hunter
DISLIKED_SF = [1031, 4718]  # RoboCop, Alien Nation: science fiction too
SF_CANDIDATES = [2380, 108, 3657, 3082, 1996, 1492, 1824, 2537, 4646]  # Clone Wars, RoboCop 3, ...


@pytest.mark.parametrize("ranker", ["learned", "fusion"])
def test_dislikes_count_only_against_likes(embedder: Embedder, ranker: str) -> None:
    likes = [HistoryEvent(item=movie(i), event="liked", at=float(k)) for k, i in enumerate(LIKED_SF)]
    dislikes = [HistoryEvent(item=movie(i), event="disliked", at=float(10 + k)) for k, i in enumerate(DISLIKED_SF)]
    pipe = Pipeline(RankingSettings(ranker=ranker, diversity=0.0), embedder)
    cands = [movie(i) for i in SF_CANDIDATES]
    without = pipe.rank(RankRequest(candidates=cands, history=likes))
    with_dislikes = pipe.rank(RankRequest(candidates=cands, history=likes + dislikes))
    before = {r.item.item_id: n for n, r in enumerate(without.ranking)}
    after = {r.item.item_id: n for n, r in enumerate(with_dislikes.ranking)}
    by_id = {r.item.item_id: r for r in with_dislikes.ranking}
    # The user's favourite category holds dislikes too: it is not pushed down as a whole.
    clone_wars = by_id["movie-2380"]
    assert after["movie-2380"] <= before["movie-2380"] and after["movie-2380"] <= 1
    assert not any(x.startswith("demoted:") and "which you disliked" in x for x in clone_wars.reasons)
    assert clone_wars.components.get("dislikes", 0.0) >= 0.0 and clone_wars.components.get("avoid", 0.0) >= 0.0
    # A candidate whose nearest neighbour in the history is a dislike (a sequel of it) goes down, and says why.
    sequel = by_id["movie-108"]
    assert after["movie-108"] > before["movie-108"]
    assert "demoted: similar in description to 'RoboCop', which you disliked" in sequel.reasons
    # Dislikes alone, with no likes to weigh them against, demote nothing.
    alone = pipe.rank(RankRequest(candidates=cands, history=dislikes))
    assert not any(x.startswith("demoted:") and "which you disliked" in x for r in alone.ranking for x in r.reasons)


def test_the_batch_command_ranks_as_the_pipeline_does(embedder: Embedder) -> None:
    from click.testing import CliRunner

    from shieldrec.cli import cli

    req = request(instruction="a robot adventure", request_id="r1")
    line = json.dumps({
        "request_id": "r1", "instruction": req.instruction,
        "candidates": [c.to_dict() for c in req.candidates],
        "history": [{**ev.item.to_dict(), "event": ev.event, "at": ev.at} for ev in req.history],
    })

    def run(*args: str) -> list[str]:
        res = CliRunner().invoke(cli, ["rerank", *args], input=line + "\n")
        assert res.exit_code == 0, res.output
        return [r["item_id"] for r in json.loads(res.stdout)["ranking"]]

    settings = RankingSettings()
    assert run() == [r.item.item_id for r in Pipeline(settings, embedder).rank(req).ranking]
    fused = Pipeline(RankingSettings(ranker="fusion"), embedder).rank(req)
    assert run("--ranker", "fusion") == [r.item.item_id for r in fused.ranking]
    res = CliRunner().invoke(cli, ["rerank", "--popularity", "2"], input=line + "\n")
    assert res.exit_code == 2 and "2.0 is not in the range 0.0<=x<=1.0" in res.output


def test_a_damaged_vector_gives_its_item_no_signal_instead_of_features_that_are_not_numbers() -> None:
    from shieldrec.items import Item
    from shieldrec.ranking import features as F

    rng = np.random.default_rng(3)

    def unit(n: int) -> np.ndarray:
        v = rng.normal(size=(n, 8)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    items = [Item(item_id=str(i), title=f"film {i}", text="a story " * (i + 1)) for i in range(5)]
    cands, liked = unit(5), unit(3)
    clean = F.compute(F.Inputs(items=items, cands=cands.copy(), liked=liked))
    damaged = cands.copy()
    damaged[2] = np.nan  # a cache entry cut short
    x = F.compute(F.Inputs(items=items, cands=damaged, liked=liked))
    assert np.isfinite(x).all()
    liked_max = F.INDEX["liked_max"]  # centred over the list: compare differences between items
    others = [0, 1, 3, 4]
    assert np.allclose(np.diff(x[others, liked_max]), np.diff(clean[others, liked_max]), atol=1e-6)
    # the damaged item sits at "no similarity" (0 before centring), not wherever a NaN would put it:
    # each other item stands above it by exactly its own closeness to a liked item
    assert np.allclose(x[others, liked_max] - x[2, liked_max], (cands @ liked.T).max(axis=1)[others], atol=1e-5)
