"""The ranking methods an evaluation compares: ShieldRec's pipeline and the baselines.

A method is built from an `EvalContext` and maps a list of requests to, per request, the
candidate ids best first. Adding one is one line in METHODS:

    METHODS["llm likelihood alone"] = lambda ctx: my_method(ctx)
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
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
BM25 = "bm25"
FIVE_LINE = "embedding baseline"
FUSION = "hand-set fusion"
LEARNED = "learned ranker"
DEFAULT = "default ranker"  # whatever the settings' ranker is: the one a new user gets
BASELINE = "five-line baseline"  # shieldrec/eval/baseline.py: title (+ text) only, no metadata
BASELINES = (RANDOM, POPULARITY, GIVEN_ORDER, EMBEDDING, BM25, FIVE_LINE)
LEGACY = (PIPELINE, RANDOM, POPULARITY, GIVEN_ORDER, EMBEDDING)  # what `shieldrec eval` runs by default
SUITE = (RANDOM, POPULARITY, BM25, FIVE_LINE, FUSION, LEARNED)  # what `shieldrec eval suite` runs
CHUNK = 256  # requests per pipeline call, as `shieldrec rerank` sends them


@dataclass
class EvalContext:
    """What methods share within one run: the seed, the settings, one embedder (one model load).

    `vectors`: a SQLite file of its own for the embeddings (never the profile database), so a
    second run over the same data sets encodes nothing; None keeps them in memory only.
    `ranker`: the learned ranker's weights to evaluate (None: the shipped ones)."""

    seed: int = 0
    settings: Settings = field(default_factory=Settings)
    vectors: Path | None = None
    ranker: Any = None
    _embedder: Any = None

    @property
    def embedder(self) -> "Embedder":
        if self._embedder is None:
            from shieldrec.ranking import Embedder

            cache = None
            if self.vectors is not None:
                from shieldrec.store.db import open_db
                from shieldrec.store.embeddings import EmbeddingCache, install_key

                db = open_db(self.vectors)
                cache = EmbeddingCache(db, install_key(self.vectors))
                cache.check_key()
            self._embedder = Embedder(cache, device=self.settings.embedding_device)
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


def pipeline(ctx: EvalContext, scorers: Sequence[Scorer] = (), ranker: str | None = None) -> Method:
    """ShieldRec's ranking pipeline with the user's settings (and `ranker`, when given, as the
    scoring stage): ranked items, then removed ones."""

    def rank(requests: Sequence[RankRequest]) -> list[Ranking]:
        from shieldrec.ranking import Pipeline

        settings = replace(ctx.settings.ranking, ranker=ranker) if ranker else ctx.settings.ranking
        pipe = Pipeline(settings, ctx.embedder, scorers=tuple(scorers), ranker=ctx.ranker)
        out = []
        for start in range(0, len(requests), CHUNK):
            for result in pipe.rank_many(list(requests[start : start + CHUNK])):
                out.append([x.item.item_id for x in result.ranking] + [x.item.item_id for x in result.removed])
        return out

    return rank


def bm25(ctx: EvalContext) -> Method:
    """Okapi BM25 of each candidate's title, creator, tags and text against the instruction
    (or, without one, against what the user liked)."""
    from shieldrec.eval import bm25 as B

    def rank(requests: Sequence[RankRequest]) -> list[Ranking]:
        out = []
        for r in requests:
            if r.instruction.strip():
                query = B.terms(r.instruction)
            else:
                liked = [e.item for e in r.history if e.positive][-50:]
                query = [t for it in liked for t in B.terms(f"{it.title} {it.creator} {it.text[:300]}")]
            got = B.scores(query, [B.terms(B.document(c)) for c in r.candidates])
            order = np.argsort(-np.asarray(got), kind="stable")
            out.append([r.candidates[i].item_id for i in order])
        return out

    return rank


def five_line(ctx: EvalContext) -> Method:
    """cos(instruction, candidate) + 0.5 x max cos(history item, candidate) over every history
    item, with the same MiniLM and the same item texts as the pipeline: the plain embedding
    baseline a ranker has to beat."""
    from shieldrec.ranking.semantic import item_text

    def rank(requests: Sequence[RankRequest]) -> list[Ranking]:
        emb = ctx.embedder
        emb.prefetch([item_text(i) for r in requests for i in [*r.candidates, *(e.item for e in r.history)]]
                     + [r.instruction for r in requests if r.instruction.strip()])
        out = []
        for r in requests:
            cands = emb.encode([item_text(c) for c in r.candidates])
            scores = np.zeros(len(r.candidates))
            if r.instruction.strip():
                scores += cands @ emb.encode([r.instruction])[0]
            if r.history:
                scores += 0.5 * (cands @ emb.encode([item_text(e.item) for e in r.history]).T).max(axis=1)
            order = np.argsort(-scores, kind="stable")
            out.append([r.candidates[i].item_id for i in order])
        return out

    return rank


METHODS: dict[str, Callable[[EvalContext], Method]] = {
    PIPELINE: pipeline,
    RANDOM: random_order,
    POPULARITY: popularity,
    GIVEN_ORDER: given_order,
    EMBEDDING: embedding_similarity,
    BM25: bm25,
    FIVE_LINE: five_line,
    FUSION: lambda ctx: pipeline(ctx, ranker="fusion"),
    LEARNED: lambda ctx: pipeline(ctx, ranker="learned"),
    DEFAULT: lambda ctx: pipeline(ctx),
    BASELINE: lambda ctx: _baseline(ctx),
}


def _baseline(ctx: EvalContext) -> Method:
    from shieldrec.eval.baseline import method

    return method(ctx)
