"""The optional language model, as the app uses it: its worker started off the UI thread,
its status followed on the status line, its stops told once, never the app's death."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shieldrec.errors import ModelError
from shieldrec.intent import Intent
from shieldrec.settings import Settings

_current: Any = None  # the LlmClient the app uses now


@dataclass
class LlmHooks:
    """What the loaded model adds to the agent's searches."""

    scorers: list[Any] = field(default_factory=list)
    reorder: Callable[..., Any] | None = None
    explain: Callable[..., Any] | None = None
    intent_parser: Callable[[str], Intent | None] | None = None
    note: str = ""  # for the status line
    client: Any = None

    def stops(self) -> int:
        """How many times the model's process has stopped so far (a crash, a kill, a hang)."""
        return int(self.client.stats["stops"]) if self.client is not None else 0

    def follow(self, show: Callable[[str], None], warn: Callable[[str], None]) -> Callable[[], None]:
        """Keep the status line (`show`) in step with the model, and `warn` once per stop.
        Both are called from whatever thread saw the change."""
        note = self.note

        def changed(status: Any) -> None:
            if status.state in ("stopped", "off"):
                show(status.message)
                warn(status.message[:1].upper() + status.message[1:] + ".")
            elif status.state == "ready":
                show(note)

        return self.client.watch(changed) if self.client is not None else (lambda: None)


def load(settings: Settings) -> LlmHooks:
    """Start the configured model's worker now (blocking); ModelError when it cannot be used."""
    global _current
    try:
        from shieldrec.llm import llm_parts, read_instruction
        from shieldrec.llm.registry import client_for
    except ImportError as exc:
        raise ModelError(f"the language model support is not installed ({exc.name or exc})") from None
    client = client_for(settings.llm)
    if _current is not None and _current is not client:
        _current.close()  # another model was chosen: its process goes
    _current = client
    client.reset()  # asked for now: a model that gave up earlier gets another chance
    client.start()
    parts = llm_parts(settings, client)
    hooks = LlmHooks(scorers=list(parts.scorers), reorder=parts.reorder,
                     explain=parts.explainer.explain if parts.explainer is not None else None, client=client)
    if client.has_chat_template:
        hooks.intent_parser = lambda text: read_instruction(client, text).intent
    hooks.note = client.status.message
    return hooks


def unload() -> None:
    """Stop the model's process (the model was turned off)."""
    global _current
    if _current is not None:
        _current.close()
        _current = None
