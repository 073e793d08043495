"""The optional language model, as the app loads it: in a worker, never on the UI thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shieldrec.errors import ModelError
from shieldrec.intent import Intent
from shieldrec.settings import Settings


@dataclass
class LlmHooks:
    """What the loaded model adds to the agent's searches."""

    scorers: list[Any] = field(default_factory=list)
    reorder: Callable[..., Any] | None = None
    explain: Callable[..., Any] | None = None
    intent_parser: Callable[[str], Intent | None] | None = None
    note: str = ""  # for the status line


def load(settings: Settings) -> LlmHooks:
    """Load the configured model now (blocking); ModelError when it cannot be used."""
    try:
        from shieldrec.llm import get_llm, llm_parts, read_instruction
    except ImportError as exc:
        raise ModelError(f"the language model support is not installed ({exc.name or exc})") from None
    llm = get_llm(settings.llm)
    parts = llm_parts(settings, llm)
    hooks = LlmHooks(scorers=list(parts.scorers), reorder=parts.reorder,
                     explain=parts.explainer.explain if parts.explainer is not None else None)
    if llm.has_chat_template:
        hooks.intent_parser = lambda text: read_instruction(llm, text).intent
    name = parts.info.name if parts.info is not None else "language model"
    hooks.note = f"LLM: {name}" + (" (chat)" if llm.has_chat_template else "")
    return hooks
