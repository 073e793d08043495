"""What the user asked for, in a structured form every part of ShieldRec shares.

The deterministic parser (ranking.constraints) always produces one; an
instruction-tuned LLM may produce another, and the two are merged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Intent:
    raw: str = ""
    wanted: list[str] = field(default_factory=list)  # qualities to look for ("hopeful", "space")
    avoided: list[str] = field(default_factory=list)  # topics/genres to push down or drop ("horror")
    exclude_creators: list[str] = field(default_factory=list)  # "not by X"
    max_minutes: float | None = None  # "under 2 hours"
    min_year: int | None = None
    max_year: int | None = None
    item_type: str = ""  # "movie", "book", "podcast", ... when the user names one
    # Who it is for when that is a child ("for my daughter who is 9"): the youngest age, and in words.
    audience_age: int | None = None
    audience: str = ""
    mood: str = ""
    # The public keywords that may be sent to a platform; the rest stays local.
    public_query: str = ""
    source: str = "rules"  # rules | llm | merged

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def merge(self, other: "Intent") -> "Intent":
        """Union of two readings of the same instruction; hard limits take the stricter one."""

        def union(a: list[str], b: list[str]) -> list[str]:
            return list(dict.fromkeys([*a, *b]))

        def stricter(a: float | None, b: float | None, pick: Any) -> Any:
            return b if a is None else a if b is None else pick(a, b)

        return Intent(
            raw=self.raw or other.raw,
            wanted=union(self.wanted, other.wanted),
            avoided=union(self.avoided, other.avoided),
            exclude_creators=union(self.exclude_creators, other.exclude_creators),
            max_minutes=stricter(self.max_minutes, other.max_minutes, min),
            min_year=stricter(self.min_year, other.min_year, max),
            max_year=stricter(self.max_year, other.max_year, min),
            item_type=self.item_type or other.item_type,
            audience_age=stricter(self.audience_age, other.audience_age, min),
            audience=self.audience if other.audience_age is None or (
                self.audience_age is not None and self.audience_age <= other.audience_age) else other.audience,
            mood=self.mood or other.mood,
            public_query=self.public_query or other.public_query,
            source="merged",
        )
