"""Personal adaptation on the real MovieLens-100K catalogue with the real ranker and embeddings:
it learns what the shipped prior cannot know about one user, only for that user, survives a
restart, vanishes with forget, and never changes a five-event profile's ranking."""

from __future__ import annotations

import numpy as np
import pytest

from shieldrec.items import HistoryEvent, Item
from shieldrec.learning.personalize import Personal
from shieldrec.learning.update import update
from shieldrec.ranking import Embedder, Pipeline
from shieldrec.ranking.types import RankRequest
from shieldrec.settings import Settings
from shieldrec.store import Profile, Store

pytestmark = pytest.mark.slow

SEED = 11


@pytest.fixture(scope="module")
def catalogue() -> list[Item]:
    from shieldrec.eval import movielens as ML

    ml = ML.load()
    return [ML.movie_item(m, ml.counts[m.item_id]) for m in ml.movies.values()]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(device="cpu")


def _split(catalogue: list[Item]) -> tuple[list[Item], list[Item]]:
    """A user who likes little-known films and dislikes the most popular ones, across genres:
    a taste the prior, trained on many users who like popular films, has no way to guess."""
    rng = np.random.default_rng(SEED)
    obscure = [it for it in catalogue if 5 <= it.meta["rating_count"] <= 40]
    famous = [it for it in catalogue if it.meta["rating_count"] >= 250]
    rng.shuffle(obscure)
    rng.shuffle(famous)
    return obscure, famous


def _feed(store: Store, name: str, liked: list[Item], disliked: list[Item]) -> Profile:
    p = store.create_profile(name)
    events = [HistoryEvent(item=it, event="liked", at=1000.0 + 2 * i) for i, it in enumerate(liked)]
    events += [HistoryEvent(item=it, event="disliked", at=1001.0 + 2 * i) for i, it in enumerate(disliked)]
    for ev in sorted(events, key=lambda e: e.at):
        store.add_event(p, ev)
    return p


def _pairs_right(pipeline: Pipeline, history: list[HistoryEvent], liked: list[Item], disliked: list[Item]) -> float:
    """Share of (held-out liked, held-out disliked) pairs the pipeline puts in the user's order."""
    right = total = 0
    for k in range(0, len(liked), 5):
        cands = liked[k : k + 5] + disliked[k : k + 5]
        result = pipeline.rank(RankRequest(candidates=cands, history=history, request_id=f"check-{k}"))
        place = {r.item.item_id: n for n, r in enumerate(result.ranking)}
        for a in liked[k : k + 5]:
            for b in disliked[k : k + 5]:
                total += 1
                right += place[a.item_id] < place[b.item_id]
    return right / total


def _prior(embedder: Embedder) -> Pipeline:
    return Pipeline(Settings().ranking, embedder)


def _personal(store: Store, p: Profile, embedder: Embedder) -> Pipeline:
    return Personal(store, p.id, embedder).attach(_prior(embedder))


def test_adaptation_puts_held_out_likes_above_dislikes_more_often_than_the_prior(
        store: Store, catalogue: list[Item], embedder: Embedder) -> None:
    obscure, famous = _split(catalogue)
    p = _feed(store, "indie", obscure[:40], famous[:40])
    report = update(store, p, embedder)
    model = store.learned.model(p.id)
    assert model is not None and report.events == 80 and model.blend > 0.5
    history = store.history(p)
    held_liked, held_disliked = obscure[40:70], famous[40:70]
    before = _pairs_right(_prior(embedder), history, held_liked, held_disliked)
    after = _pairs_right(_personal(store, p, embedder), history, held_liked, held_disliked)
    assert after > before + 0.1, (before, after)
    assert dict(zip(model.features, model.weights))["popularity"] < 0  # what it learned, in its own terms


def test_one_profiles_feedback_never_changes_another_profiles_ranking(
        store: Store, catalogue: list[Item], embedder: Embedder) -> None:
    obscure, famous = _split(catalogue)
    other = _feed(store, "other", famous[:5], obscure[:3])
    request = RankRequest(candidates=obscure[100:110] + famous[100:110], history=store.history(other),
                          request_id="same")
    first = [r.item.item_id for r in _personal(store, other, embedder).rank(request).ranking]
    indie = _feed(store, "indie", obscure[:40], famous[:40])
    update(store, indie, embedder)
    assert store.learned.model(indie.id) is not None
    again = [r.item.item_id for r in _personal(store, other, embedder).rank(request).ranking]
    assert again == first


def test_learned_weights_survive_a_restart_and_vanish_with_forget(
        shieldrec_home, catalogue: list[Item], embedder: Embedder) -> None:
    obscure, famous = _split(catalogue)
    store = Store()
    p = _feed(store, "indie", obscure[:40], famous[:40])
    update(store, p, embedder)
    weights = store.learned.model(p.id).weights.copy()
    store.close()

    reopened = Store()
    p = reopened.profile("indie")
    assert np.array_equal(reopened.learned.model(p.id).weights, weights)
    assert Personal(reopened, p.id, embedder).head is not None
    reopened.forget("indie")
    again = reopened.create_profile("indie")  # the same name: nothing of the old one comes back
    assert reopened.learned.model(again.id) is None and reopened.learned.facets(again.id) == []
    assert Personal(reopened, again.id, embedder).head is None
    reopened.close()


def test_a_five_event_profile_ranks_exactly_as_the_prior(store: Store, catalogue: list[Item],
                                                         embedder: Embedder) -> None:
    obscure, famous = _split(catalogue)
    p = _feed(store, "new", obscure[:3], famous[:2])
    update(store, p, embedder)
    model = store.learned.model(p.id)
    assert model is not None and model.events == 5 and model.blend == 0.0
    request = RankRequest(candidates=obscure[50:60] + famous[50:60], history=store.history(p), request_id="r")
    prior = [(r.item.item_id, round(r.score, 9)) for r in _prior(embedder).rank(request).ranking]
    personal = [(r.item.item_id, round(r.score, 9)) for r in _personal(store, p, embedder).rank(request).ranking]
    assert personal == prior
