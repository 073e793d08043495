"""The optional language model, as the app loads it: in a worker, never on the UI thread."""

from __future__ import annotations

from typing import Any

from shieldrec.errors import ModelError
from shieldrec.settings import LlmSettings


def load_scorers(settings: LlmSettings) -> tuple[list[Any], str]:
    """([the LLM scorer], a status note) with the model loaded; ModelError when it cannot be."""
    try:
        from shieldrec.llm import LikelihoodScorer, get_llm
    except ImportError as exc:
        raise ModelError(f"the language model support is not installed ({exc.name or exc})") from None
    llm = get_llm(settings)
    scorer = LikelihoodScorer(llm)
    name = "bundled model" if settings.model == "bundled" else settings.model.rsplit("/", 1)[-1]
    return [scorer], f"LLM: {name}"
