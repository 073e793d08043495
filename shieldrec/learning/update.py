"""One update of what a profile learned: its lists replayed through the pipeline's features,
the personal model refitted on them, the interest facets rebuilt; both written at once.

Blocking (an embedding pass over items not seen before, then milliseconds of fitting):
call it from a worker thread (`learning.worker.Learner`), never from a UI's thread.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from shieldrec.learning import examples, facets as F, personal
from shieldrec.store.db import tx

if TYPE_CHECKING:
    from shieldrec.ranking import Embedder
    from shieldrec.settings import Settings
    from shieldrec.store import Profile, Store

log = logging.getLogger(__name__)


@dataclass
class Report:
    """What one update did, in numbers a benchmark or a status line can print."""

    events: int
    lists: int
    pairs: int
    blend: float
    facets: int
    replay_s: float  # computing the lists' features (embedding any new text)
    fit_s: float  # the gradient steps
    total_s: float

    def describe(self) -> str:
        return (f"learned from {self.events} feedback events ({self.pairs} comparisons): personal weight "
                f"{self.blend:.2f}, {self.facets} interest facets")


Replayed = tuple[list[str], np.ndarray, np.ndarray]  # a list's candidate ids, features, prior logits


def prior_of(pipeline: Any) -> Any:
    """The learned ranker a pipeline scores with (its own weights, or the shipped ones)."""
    from shieldrec.ranking.learned import LearnedRanker

    return pipeline.ranker if pipeline.ranker is not None else LearnedRanker.shipped()


def _key(j: examples.Judged, version: str) -> tuple[Any, ...]:
    """Everything a list's features depend on: the same key, the same features."""
    r = j.request
    return (version, r.instruction, tuple(c.item_id for c in r.candidates),
            tuple((ev.item.item_id, ev.event, ev.rating, ev.at) for ev in r.history),
            tuple((p.kind, p.target, p.value, p.weight) for p in r.preferences))


def replay(pipeline: Any, lists: list[examples.Judged], cache: dict[Any, Replayed] | None = None
           ) -> tuple[list[tuple[list[str], np.ndarray]], list[np.ndarray]]:
    """Each list's features as the pipeline computes them now, and the prior's logits (its
    output before the scale that puts it among the hand-set penalties: the head adds there).
    `cache` keeps them between updates: a list's history is fixed when it is shown, so an
    update replays only the lists that are new (or whose history was edited)."""
    model = prior_of(pipeline)
    version = model.version
    cache = {} if cache is None else cache
    keys = [_key(j, version) for j in lists]
    todo = [(k, j) for k, j in zip(keys, lists) if k not in cache]
    if todo:
        scale = max(float(model.weights.scale), 1e-9)
        for (k, _), (ids, x) in zip(todo, pipeline.features_many([j.request for _, j in todo])):
            cache[k] = (ids, x, model.score(x) / scale if len(x) else np.zeros(0))
    feats = [(cache[k][0], cache[k][1]) for k in keys]
    scores = [cache[k][2] for k in keys]
    return feats, scores


def item_vectors(embedder: Embedder, history: list[Any]) -> dict[str, np.ndarray]:
    from shieldrec.ranking.semantic import item_text

    items = {ev.item.item_id: ev.item for ev in history}
    if not items:
        return {}
    vecs = embedder.encode([item_text(it) for it in items.values()])
    return dict(zip(items, vecs))


def update(store: Store, profile: Profile, embedder: Embedder, settings: Settings | None = None,
           cache: dict[Any, Replayed] | None = None) -> Report:
    """Refit the profile's personal model and rebuild its facets from everything it holds now.
    `cache`: replayed lists kept from earlier updates of this profile (`replay`)."""
    from shieldrec.ranking import Pipeline
    from shieldrec.ranking.features import FEATURES
    from shieldrec.settings import Settings

    started = time.perf_counter()
    settings = settings or Settings.load()
    history = store.history(profile)
    prefs = store.preferences(profile)
    since = store.learned.since(profile.id)
    lists = examples.build(history, store.learned.impressions(profile.id), prefs, since)
    ranking = replace(settings.ranking, ranker="learned")
    pipeline = Pipeline(ranking, embedder)
    feats, scores = replay(pipeline, lists, cache)
    replayed = time.perf_counter()
    version = prior_of(pipeline).version
    fitted = personal.train(lists, feats, scores, FEATURES, version,
                            newest_event=max((ev.id or 0 for ev in history), default=0),
                            previous=store.learned.model(profile.id),
                            feedback=[ev for ev in history if ev.at >= since and examples.gain(ev) is not None])
    fit_s = time.perf_counter() - replayed
    taught = [ev for ev in history if ev.at >= since]
    built = F.build(taught, item_vectors(embedder, taught))
    keep = {f.key for f in built}
    pinned = [f for f in store.learned.facets(profile.id) if f.pinned and f.key not in keep]
    with tx(store.db):
        if not any(p.id == profile.id for p in store.profiles()):  # forgotten meanwhile: nothing to write to
            return Report(0, 0, 0, 0.0, 0, 0.0, 0.0, time.perf_counter() - started)
        store.learned.save_model(profile.id, fitted.model)
        store.learned.replace_facets(profile.id, built + pinned)
    m = fitted.model
    return Report(m.events, len(lists), m.pairs, m.blend, len(built) + len(pinned), replayed - started, fit_s,
                  time.perf_counter() - started)
