"""The contract between the pipeline, its scorers and its callers (CLI, agent, TUI, eval)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from shieldrec.intent import Intent
from shieldrec.items import HistoryEvent, Item, Preference

if TYPE_CHECKING:
    from shieldrec.ranking.trust import PlatformRecord


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
    # What each platform was caught at in earlier answers of this session (trust.PlatformRecord).
    platform_record: PlatformRecord | None = None


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
class Check:
    """One constraint of a request and how far the candidates' metadata let it be applied."""

    what: str  # as the user would say it: "under 120 minutes", "no horror", "for a 9-year-old"
    missing: str  # what an unchecked candidate lacks: "no running time known"
    checked: int = 0  # candidates whose metadata could answer it
    unknown: int = 0  # candidates it could not be checked on: kept, and said so
    removed: int = 0
    aside: str = ""  # why it was not applied at all, when it was set aside on purpose

    def note(self, what: str = "") -> str:
        """What the answer must say about it; "" when it was applied to every candidate. `what`
        names several constraints that share this account."""
        what = what or f"'{self.what}'"
        if self.aside:
            return f"{what} set aside: {self.aside}"
        total = self.checked + self.unknown
        if not self.unknown:
            return ""
        if not self.checked:
            return f"{what} not applied: {self.missing} for any of the {total} candidates"
        return (f"{what} could not be checked for {self.unknown} of {total} candidates "
                f"({self.missing}); those were kept")


def constraint_notes(checks: list[Check]) -> list[str]:
    """One line per account: "'no horror' and 'you avoid gory violence' could not be checked for
    27 of 59 candidates (...)" rather than the same count twice."""
    groups: dict[tuple[str, int, int, str], list[Check]] = {}
    for c in checks:
        if c.note():
            groups.setdefault((c.missing, c.checked, c.unknown, c.aside), []).append(c)
    out = []
    for same in groups.values():
        names = [f"'{c.what}'" for c in same]
        out.append(same[0].note(names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]))
    return out

    def to_dict(self) -> dict[str, Any]:
        return {"constraint": self.what, "checked": self.checked, "unknown": self.unknown,
                "removed": self.removed, "note": self.note()}


@dataclass
class RankResult:
    request_id: str
    ranking: list[Ranked]
    removed: list[Removed]
    intent: Intent | None = None
    # Every constraint the request holds, with how far it was applied (see Check.note).
    checks: list[Check] = field(default_factory=list)
    # The platforms' record with this answer counted: the next request of the session starts from it.
    record: PlatformRecord | None = None

    @property
    def notes(self) -> list[str]:
        """What the answer says about constraints it could not apply fully, in words."""
        return constraint_notes(self.checks)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "request_id": self.request_id,
            "ranking": [r.to_dict() for r in self.ranking],
            "removed": [r.to_dict() for r in self.removed],
        }
        if self.notes:
            out["notes"] = self.notes
        return out


class Scorer(Protocol):
    """A pluggable scorer. `name` is its key in the user's fusion weights."""

    name: str

    def score(self, request: RankRequest, items: list[Item]) -> list[Signal]:
        """One Signal per item, in the same order."""
        ...
