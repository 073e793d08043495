"""The five-line baseline every table carries (issue 23): what a ranker has to beat on every shape.

    score(c) = cos(c, instruction) + 0.5 * max over every history item h (liked or not) of cos(c, h)

all-MiniLM-L6-v2 (the project's embedder and its on-disk cache) on the candidate's title, or its
title and text where the list gives text. Nothing else: no popularity, genres, creators or
lexical terms, so a shape that strips those changes nothing here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from shieldrec.items import Item
from shieldrec.ranking.types import RankRequest

if TYPE_CHECKING:
    from shieldrec.eval.methods import EvalContext, Method, Ranking
    from shieldrec.ranking import Embedder

HISTORY_WEIGHT = 0.5


def text(item: Item) -> str:
    """The candidate as the baseline reads it: its title, then its text where there is one."""
    return f"{item.title}. {item.text}" if item.text.strip() else item.title


def scores(request: RankRequest, embedder: "Embedder") -> np.ndarray:
    """The baseline's score of each candidate, in the request's order."""
    if not request.candidates:
        return np.zeros(0)
    cands = embedder.encode([text(c) for c in request.candidates])
    out = np.zeros(len(request.candidates))
    if request.instruction.strip():
        out += cands @ embedder.encode([request.instruction])[0]
    if request.history:
        hist = embedder.encode([text(e.item) for e in request.history])
        out += HISTORY_WEIGHT * (cands @ hist.T).max(axis=1)
    return out


def method(ctx: "EvalContext") -> "Method":
    def rank(requests: Sequence[RankRequest]) -> "list[Ranking]":
        emb = ctx.embedder
        # One batched pass over every text first: the per-request encodes then hit the cache.
        emb.prefetch([text(i) for r in requests for i in [*r.candidates, *(e.item for e in r.history)]]
                     + [r.instruction for r in requests if r.instruction.strip()])
        out = []
        for r in requests:
            order = np.argsort(-scores(r, emb), kind="stable")
            out.append([r.candidates[i].item_id for i in order])
        return out

    return rank
