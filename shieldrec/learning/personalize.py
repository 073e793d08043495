"""What a profile's learned part does to its rankings: the personal model as the ranker's
per-profile head, and the interest facets as a scorer whose reasons name them.

`Personal` is read from the store and read again on `reload()` (after each update): a
pipeline that holds one ranks with the profile's newest learned part.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from shieldrec.items import Item
from shieldrec.learning import facets as F
from shieldrec.ranking import facts
from shieldrec.ranking.types import RankRequest, Signal
from shieldrec.store.learned import Facet, PersonalModel

if TYPE_CHECKING:
    from shieldrec.ranking import Embedder
    from shieldrec.store import Store

NAME = "facets"  # its key in the fusion weights
WEIGHT = 0.5  # its default weight there (`[ranking.weights] facets = ...` in config.toml changes it)
LIKE_PUSH = 0.5  # a fitting liked facet of full strength, in the scorer's -1..1
AVOID_PUSH = 0.5
FULL_STRENGTH = 3.0  # strength at which a facet counts fully


def head_for(model: PersonalModel | None) -> Any:
    """The ranker's per-profile head for `model`, or None when it does not count (yet)."""
    if model is None or model.blend <= 0.0:
        return None
    from shieldrec.ranking.features import FEATURES
    from shieldrec.ranking.learned import LearnedRanker, ResidualHead

    prior = LearnedRanker.shipped()
    if model.prior != prior.version:
        return None  # fitted against another prior: it ranks as the prior until refitted
    weight = np.zeros(len(FEATURES), dtype=np.float32)
    for name, w in zip(model.features, model.weights):
        if name in FEATURES:
            weight[FEATURES.index(name)] = w
    # Fitted in the prior's own output units, where the head adds.
    return ResidualHead(weight=weight * model.blend, events=model.events)


class FacetScorer:
    """+ for an item that fits a selected liked facet, - for one that fits an avoided facet;
    the reason names the facet, and is given only when the item's own metadata shows one of
    the facet's words and its text is close to the facet's items."""

    name = NAME

    def __init__(self, embedder: Embedder, facets: Sequence[Facet] = (), events: int | None = None) -> None:
        self.embedder = embedder
        self.facets = list(facets)
        # Learned facets count once the profile has as much feedback as the personal model needs
        # (`personal.MIN_EVENTS`): a profile with a handful of events ranks as the prior does.
        # Pinned ones always count: the user said so.
        self.events = events

    def _counting(self) -> list[Facet]:
        from shieldrec.learning.personal import MIN_EVENTS

        if self.events is None or self.events >= MIN_EVENTS:
            return self.facets
        return [f for f in self.facets if f.pinned]

    def score(self, request: RankRequest, items: list[Item]) -> list[Signal]:
        from shieldrec.ranking.lexical import tokens
        from shieldrec.ranking.semantic import item_text

        counting = self._counting()
        if not counting or not items:
            return [Signal(0.0) for _ in items]
        query = None
        if request.instruction.strip():
            query = self.embedder.encode([request.instruction])[0]
        chosen = F.select(counting, query, tokens(request.instruction))
        if not chosen:
            return [Signal(0.0) for _ in items]
        vecs = self.embedder.encode([item_text(it) for it in items])
        out = []
        for item, v in zip(items, vecs):
            value, reasons = 0.0, []
            for f in chosen:
                if f.centroid is not None and float(v @ f.centroid) < F.FIT:
                    continue
                word = F.shows(item, f)
                if not word:
                    continue
                share = min(1.0, f.strength / FULL_STRENGTH) if not f.pinned else 1.0
                tag = next((t for t in facts.genres(item) if t.strip().lower() == word), "")
                shown = f"tagged {tag}" if tag else f"it mentions '{word}'"
                if f.kind == "like":
                    value += LIKE_PUSH * share
                    reasons.append(f"you tend to like {f.label}, as in {_titles(f)} ({shown})")
                else:
                    value -= AVOID_PUSH * share
                    reasons.append(f"demoted: you tend to dislike {f.label}, as in {_titles(f)} ({shown})")
            out.append(Signal(float(np.clip(value, -1.0, 1.0)), "; ".join(reasons[:1])))
        return out


def _titles(f: Facet) -> str:
    names = [f"'{t}'" for _, t in f.items[:2]]
    return " and ".join(names)


class Personal:
    """A profile's learned part, as rankings use it: `attach` it to a pipeline, `reload` it
    after an update and every pipeline it is attached to ranks with the new one."""

    def __init__(self, store: Store | None, profile_id: int, embedder: Embedder,
                 snapshot: tuple[PersonalModel | None, list[Facet]] | None = None) -> None:
        """`snapshot`: (model, facets) read elsewhere, for a worker without the database (Ray)."""
        self.store = store
        self.snapshot = snapshot
        self.profile_id = profile_id
        self.scorer = FacetScorer(embedder)
        self.head: Any = None
        self.model: PersonalModel | None = None
        self._lock = threading.Lock()
        self._pipelines: list[weakref.ref[Any]] = []
        self.reload()

    def attach(self, pipeline: Any) -> Any:
        """Add the facet scorer (with its default weight unless the user set one) and the head."""
        from dataclasses import replace

        if self.scorer not in pipeline.scorers:
            pipeline.scorers.append(self.scorer)
        weights = pipeline.settings.weights
        if NAME not in weights:
            pipeline.settings = replace(pipeline.settings, weights={**weights, NAME: WEIGHT})
        if hasattr(pipeline, "head"):
            pipeline.head = self.head
        with self._lock:
            self._pipelines = [r for r in self._pipelines if r() is not None] + [weakref.ref(pipeline)]
        return pipeline

    def read(self) -> tuple[PersonalModel | None, list[Facet]]:
        """(model, facets) as they are now: what a worker elsewhere is handed."""
        if self.store is None:
            return self.snapshot or (None, [])
        return self.store.learned.model(self.profile_id), self.store.learned.facets(self.profile_id)

    def reload(self) -> None:
        model, facets = self.read()
        try:
            head = head_for(model)
        except Exception:  # noqa: BLE001 - no ranker weights: the fusion ranks, without a head
            head = None
        with self._lock:
            self.model, self.head = model, head
            self.scorer.facets = facets
            self.scorer.events = model.events if model is not None else 0
            for ref in self._pipelines:
                pipeline = ref()
                if pipeline is not None and hasattr(pipeline, "head"):
                    pipeline.head = head
