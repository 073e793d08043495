"""The ranking methods an evaluation compares: ShieldRec's pipeline and the baselines.

A method is built from an `EvalContext` and maps a list of requests to, per request, the
candidate ids best first. Adding one is one line in METHODS:

    METHODS["llm likelihood alone"] = lambda ctx: my_method(ctx)
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from shieldrec.items import Item
from shieldrec.ranking.types import RankRequest, Scorer
from shieldrec.settings import Settings

if TYPE_CHECKING:
    from shieldrec.ranking import Embedder

Ranking = list[str]
Method = Callable[[Sequence[RankRequest]], list[Ranking]]

PIPELINE = "shieldrec pipeline"
RANDOM = "random"
POPULARITY = "popularity"
GIVEN_ORDER = "order as given"
EMBEDDING = "embedding similarity"
BASELINES = (RANDOM, POPULARITY, GIVEN_ORDER, EMBEDDING)
CHUNK = 256  # requests per pipeline call, as `shieldrec rerank` sends them


@dataclass
class EvalContext:
    """What methods share within one run: the seed, the settings, one embedder (one model load)."""

    seed: int = 0
    settings: Settings = field(default_factory=Settings)
    _embedder: Any = None

    @property
    def embedder(self) -> "Embedder":
        if self._embedder is None:
            from shieldrec.ranking import Embedder

            # No SQLite cache: an evaluation must not fill the user's profile database.
            self._embedder = Embedder(None, device=self.settings.embedding_device)
        return self._embedder


def plain_text(item: Item) -> str:
    """'Title (year). Genres: a, b.' plus any description: the text the embedding baseline compares."""
    meta = item.meta or {}
    year, genres = meta.get("year"), meta.get("genres")
    head = f"{item.title} ({year})" if isinstance(year, int) and str(year) not in item.title else item.title
    parts = [head]
    if isinstance(genres, list) and genres:
        parts.append("Genres: " + ", ".join(str(g) for g in genres))
    text = ". ".join(parts) + "."
    return f"{text} {item.text}" if item.text else text


def _request_rng(seed: int, request: RankRequest) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(request.request_id.encode("utf-8"))])


def given_order(ctx: EvalContext) -> Method:
    return lambda requests: [[c.item_id for c in r.candidates] for r in requests]


def random_order(ctx: EvalContext) -> Method:
    def rank(requests: Sequence[RankRequest]) -> list[Ranking]:
        out = []
        for r in requests:
            order = _request_rng(ctx.seed + 1, r).permutation(len(r.candidates))
            out.append([r.candidates[i].item_id for i in order])
        return out

    return rank


def _count(item: Item) -> float:
    value = (item.meta or {}).get("rating_count")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def popularity(ctx: EvalContext) -> Method:
    """Most public ratings first (the counts the platform sent, the user's own excluded)."""
    return lambda requests: [[c.item_id for c in sorted(r.candidates, key=lambda c: -_count(c))] for r in requests]


def embedding_similarity(ctx: EvalContext) -> Method:
    """Cosine of each candidate to the mean of the liked history (all history when nothing was liked)."""

    def rank(requests: Sequence[RankRequest]) -> list[Ranking]:
        emb = ctx.embedder
        emb.prefetch([plain_text(i) for r in requests for i in [*r.candidates, *(e.item for e in r.history)]])
        out = []
        for r in requests:
            liked = [e.item for e in r.history if e.positive] or [e.item for e in r.history]
            cands = emb.encode([plain_text(c) for c in r.candidates])
            if liked:
                center = emb.encode([plain_text(i) for i in liked]).mean(axis=0)
                scores = cands @ center
            else:
                scores = np.zeros(len(r.candidates))
            order = np.argsort(-scores, kind="stable")
            out.append([r.candidates[i].item_id for i in order])
        return out

    return rank


def pipeline(ctx: EvalContext, scorers: Sequence[Scorer] = ()) -> Method:
    """ShieldRec's ranking pipeline with the user's settings: ranked items, then removed ones."""

    def rank(requests: Sequence[RankRequest]) -> list[Ranking]:
        from shieldrec.ranking import Pipeline

        pipe = Pipeline(ctx.settings.ranking, ctx.embedder, scorers=tuple(scorers))
        out = []
        for start in range(0, len(requests), CHUNK):
            for result in pipe.rank_many(list(requests[start : start + CHUNK])):
                out.append([x.item.item_id for x in result.ranking] + [x.item.item_id for x in result.removed])
        return out

    return rank


METHODS: dict[str, Callable[[EvalContext], Method]] = {
    PIPELINE: pipeline,
    RANDOM: random_order,
    POPULARITY: popularity,
    GIVEN_ORDER: given_order,
    EMBEDDING: embedding_similarity,
}
