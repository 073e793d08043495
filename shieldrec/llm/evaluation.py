"""The language model's rows in the offline evaluation: alone, and fused into the pipeline.

Not registered in `shieldrec.eval.METHODS` by default: on this project's 2-core CPU the
likelihood pass costs about a second per user, so the full 942-user run would take
a quarter of an hour per row. `register()` adds them for a run that asks for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from shieldrec.eval.methods import EvalContext, Method, Ranking, pipeline
from shieldrec.items import Item
from shieldrec.llm.likelihood import LikelihoodScorer
from shieldrec.ranking.types import RankRequest, Signal

LLM_ALONE = "llm likelihood alone"
PIPELINE_LLM = "shieldrec pipeline + llm"


class _Remembering(LikelihoodScorer):
    """Both rows read the same requests: each request's scores are computed once."""

    def __init__(self, ctx: EvalContext) -> None:
        super().__init__(ctx.settings.llm)
        self._seen: dict[tuple[str, tuple[str, ...]], list[Signal]] = {}

    def score(self, request: RankRequest, items: list[Item]) -> list[Signal]:
        key = (request.request_id, tuple(i.item_id for i in items))
        if key not in self._seen:
            self._seen[key] = super().score(request, items)
        return self._seen[key]


_scorers: dict[int, _Remembering] = {}


def _scorer(ctx: EvalContext) -> _Remembering:
    if id(ctx) not in _scorers:
        _scorers.clear()  # one evaluation run at a time
        _scorers[id(ctx)] = _Remembering(ctx)
    return _scorers[id(ctx)]


def likelihood_alone(ctx: EvalContext) -> Method:
    """Candidates ordered by the model's PMI score only (ties keep the given order)."""

    def rank(requests: Sequence[RankRequest]) -> list[Ranking]:
        scorer = _scorer(ctx)
        out = []
        for r in requests:
            values = np.asarray([s.value for s in scorer.score(r, list(r.candidates))])
            out.append([r.candidates[i].item_id for i in np.argsort(-values, kind="stable")])
        return out

    return rank


def pipeline_with_llm(ctx: EvalContext) -> Method:
    """The pipeline with the likelihood scorer fused at the user's "llm" weight."""
    return pipeline(ctx, scorers=[_scorer(ctx)])


def llm_methods() -> dict[str, Callable[[EvalContext], Method]]:
    return {LLM_ALONE: likelihood_alone, PIPELINE_LLM: pipeline_with_llm}


def register(methods: dict[str, Callable[[EvalContext], Method]]) -> None:
    """Add the two rows to a methods table (e.g. `shieldrec.eval.METHODS`)."""
    methods.update(llm_methods())
