"""How one answer is looked at: its order, what it is narrowed to, how many cards show.

The ranking stays as it was; a view only re-orders and narrows what is shown, so "the
second one" always means the second card on screen, and going back to the ranking's own
order is one step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from shieldrec.agent.kinds import item_kind
from shieldrec.sanitize import clean_text

if TYPE_CHECKING:
    from shieldrec.agent.turn import Card

PAGE = 10  # cards a page adds
SORTS = {
    "rank": "ShieldRec's order",
    "newest": "newest first",
    "oldest": "oldest first",
    "title": "by title",
    "source": "by source",
}


def _year(card: Card) -> int | None:
    from shieldrec.ranking import facts

    return facts.year(card.item)


def card_kind(card: Card) -> str:
    return item_kind(card.item)


def card_sources(card: Card) -> list[str]:
    item = card.item
    return list(dict.fromkeys([*item.platforms, *([item.source] if item.source else [])]))


@dataclass
class View:
    sort: str = "rank"
    kind: str = ""  # "movie", "book", ... ("" = every kind)
    source: str = ""  # one platform ("" = all)
    year_from: int | None = None
    year_to: int | None = None

    @property
    def narrowed(self) -> bool:
        return bool(self.kind or self.source or self.year_from or self.year_to)

    @property
    def plain(self) -> bool:
        return self.sort == "rank" and not self.narrowed

    def keeps(self, card: Card) -> bool:
        if self.kind and card_kind(card) != self.kind:
            return False
        if self.source and self.source not in card_sources(card):
            return False
        if self.year_from or self.year_to:
            year = _year(card)
            if year is None:
                return False
            if self.year_from and year < self.year_from:
                return False
            if self.year_to and year > self.year_to:
                return False
        return True

    def order(self, cards: Sequence[Card]) -> list[Card]:
        """The cards this view keeps, in its order (ties keep the ranking's order)."""
        kept = [c for c in cards if self.keeps(c)]
        keys: dict[str, Callable[[Card], Any]] = {
            "newest": lambda c: (_year(c) is None, -(_year(c) or 0)),
            "oldest": lambda c: (_year(c) is None, _year(c) or 0),
            "title": lambda c: c.item.title.casefold(),
            "source": lambda c: (card_sources(c) or ["~"])[0].casefold(),
        }
        key = keys.get(self.sort)
        return sorted(kept, key=key) if key else kept

    def describe(self) -> str:
        """"books only, 1990–2005, newest first" ("" for the ranking as it is)."""
        parts = []
        if self.kind:
            parts.append(f"{self.kind}s only")
        if self.source:
            parts.append(f"from {self.source} only")
        if self.year_from or self.year_to:
            parts.append(f"{self.year_from or '…'}–{self.year_to or '…'}")
        if self.sort != "rank":
            parts.append(SORTS.get(self.sort, self.sort))
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, raw: Any) -> View:
        if not isinstance(raw, dict):
            return cls()

        def year(key: str) -> int | None:
            v = raw.get(key)
            return int(v) if isinstance(v, int) and not isinstance(v, bool) and 0 < v < 10000 else None

        sort = raw.get("sort")
        return cls(sort=sort if sort in SORTS else "rank", kind=clean_text(raw.get("kind"), 20),
                   source=clean_text(raw.get("source"), 64), year_from=year("year_from"), year_to=year("year_to"))
