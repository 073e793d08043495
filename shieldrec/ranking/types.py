"""The contract between the pipeline, its scorers and its callers (CLI, agent, TUI, eval)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from shieldrec.intent import Intent
from shieldrec.items import HistoryEvent, Item, Preference


@dataclass
class RankRequest:
    candidates: list[Item]
    instruction: str = ""
    history: list[HistoryEvent] = field(default_factory=list)
    preferences: list[Preference] = field(default_factory=list)
    request_id: str = ""
    top: int | None = None
    # Set by the pipeline's parse stage (or by a caller that already parsed the instruction).
    intent: Intent | None = None


@dataclass
class Signal:
    """One scorer's opinion of one item: a value (roughly -1..1) and, if it mattered, why."""

    value: float
    reason: str = ""


@dataclass
class Ranked:
    item: Item
    score: float
    reasons: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    # Per-scorer contributions after weighting, for explanations and the score bar.
    components: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item.item_id,
            "score": round(self.score, 6),
            "reasons": self.reasons,
            "labels": self.labels,
        }


@dataclass
class Removed:
    item: Item
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"item_id": self.item.item_id, "reason": self.reason}


@dataclass
class RankResult:
    request_id: str
    ranking: list[Ranked]
    removed: list[Removed]
    intent: Intent | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "ranking": [r.to_dict() for r in self.ranking],
            "removed": [r.to_dict() for r in self.removed],
        }


class Scorer(Protocol):
    """A pluggable scorer. `name` is its key in the user's fusion weights."""

    name: str

    def score(self, request: RankRequest, items: list[Item]) -> list[Signal]:
        """One Signal per item, in the same order."""
        ...
