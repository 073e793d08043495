"""What the local language model adds to a ranking, chosen by what the model can do.

Every model scores likelihoods. A model with a chat template also re-ranks the top of
the list, reads instructions and writes explanations; a base model does not (its answers
would be valid but meaningless). When the model is off or unusable, nothing is added and
the pipeline ranks exactly as it does without one: the LLM is never the only way to a result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shieldrec.errors import ModelError
from shieldrec.llm.explain import Explainer
from shieldrec.llm.likelihood import LikelihoodScorer
from shieldrec.llm.listwise import ListwiseReranker
from shieldrec.llm.client import LlmClient
from shieldrec.llm.models import BUNDLED, ModelInfo, bundled_path, describe, describe_spec, verify_bundled
from shieldrec.ranking.types import Ranked, RankRequest, Scorer
from shieldrec.settings import LlmSettings, Settings

if TYPE_CHECKING:
    from shieldrec.llm.runtime import LocalLLM
    from shieldrec.ranking import Embedder, Pipeline

log = logging.getLogger(__name__)

Reorder = Callable[[RankRequest, list[Ranked]], list[Ranked]]


@dataclass
class LlmParts:
    """The scorers and hooks to hand to `Pipeline`, and a line saying what was (not) added."""

    scorers: list[Scorer] = field(default_factory=list)
    reorder: Reorder | None = None
    explainer: Explainer | None = None
    info: ModelInfo | None = None
    note: str = ""


def _peek(settings: LlmSettings) -> ModelInfo:
    """The configured model's header, without loading it (and without assembling the bundled
    one: that happens on first use, off the caller's thread if the caller wants)."""
    spec = (settings.model or BUNDLED).strip()
    if spec == BUNDLED:
        path = bundled_path()
        if path.is_file() and verify_bundled(path):
            return describe(path, bundled=True)
        # Not assembled yet: the bundled model is known to be a base model.
        return ModelInfo(name="Gemma 3 270m", path=path, size_bytes=0, architecture="gemma3",
                         quantization="Q4_K_M", context_length=32768, chat_template=False, bundled=True)
    return describe_spec(spec)


def llm_parts(settings: Settings, llm: LlmClient | LocalLLM | None = None) -> LlmParts:
    """The LLM's contributions under `settings`. With `llm` given, that loaded model is used;
    otherwise the model loads lazily on the first ranking that needs it."""
    cfg = settings.llm
    if llm is None and not cfg.enabled:
        return LlmParts(note="the local language model is turned off")
    try:
        info = llm.info if llm is not None else _peek(cfg)
    except ModelError as exc:
        return LlmParts(note=f"ranking without the language model: {exc}")
    source: LlmClient | LocalLLM | LlmSettings = llm if llm is not None else cfg
    parts = LlmParts(scorers=[LikelihoodScorer(source)], info=info)
    if info.chat_template:
        parts.reorder = ListwiseReranker(source, top_k=cfg.listwise_top_k, passes=cfg.listwise_passes)
        parts.explainer = Explainer(source, limit=cfg.listwise_top_k)
        parts.note = f"{info.name}: likelihood scoring, listwise re-ranking, explanations"
    else:
        parts.note = f"{info.name} is a base model: likelihood scoring only"
    return parts


def build_pipeline(settings: Settings, embedder: "Embedder", llm: LlmClient | LocalLLM | None = None) -> tuple["Pipeline", LlmParts]:
    """A ranking pipeline with whatever the language model can add under `settings`."""
    from shieldrec.ranking import Pipeline

    parts = llm_parts(settings, llm)
    return Pipeline(settings.ranking, embedder, scorers=parts.scorers, reorder=parts.reorder), parts
