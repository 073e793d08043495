"""One exchange with the agent: what was asked, how it was read, what came back.

A turn is saved as the agent message's payload, so a resumed conversation shows the same
cards. Payloads are read back through the sanitizing constructors: an imported profile
can hold anything.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shieldrec.agent.view import PAGE, View
from shieldrec.errors import InvalidInput
from shieldrec.intent import Intent
from shieldrec.items import Item
from shieldrec.sanitize import clean_text

if TYPE_CHECKING:
    from shieldrec.store.conversations import Message

PAYLOAD_VERSION = 1
_TEXT_KEPT = 1500  # of an item's description, in a saved turn: enough to re-show and re-rank from
_TEXT_KEPT_TAIL = 400  # for cards below the first pages, which are seldom opened
_HEAD = 20


@dataclass
class Card:
    """A ranked item as the user sees it."""

    rank: int
    item: Item
    score: float
    reasons: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    components: dict[str, float] = field(default_factory=dict)
    mark: str = ""  # the user's latest feedback on it: liked | disliked | not_now | rated | ...
    rating: float | None = None  # with mark "rated": the stars given
    hidden: str = ""  # why it left the list after the turn (a block, a dislike), in words

    def to_payload(self) -> dict[str, Any]:
        item = self.item.to_dict()
        item["text"] = item["text"][:_TEXT_KEPT if self.rank <= _HEAD else _TEXT_KEPT_TAIL]
        return {
            "rank": self.rank,
            "item": item,
            "score": round(self.score, 6),
            "reasons": self.reasons,
            "labels": self.labels,
            "components": {k: round(v, 6) for k, v in self.components.items()},
        }

    @classmethod
    def from_payload(cls, raw: Any) -> Card:
        if not isinstance(raw, dict):
            raise InvalidInput("a saved card must be an object")
        score = raw.get("score", 0.0)
        rank = raw.get("rank", 0)
        components = raw.get("components") if isinstance(raw.get("components"), dict) else {}
        return cls(
            rank=rank if isinstance(rank, int) and not isinstance(rank, bool) else 0,
            item=Item.from_untrusted(raw.get("item")),
            score=float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else 0.0,
            reasons=_strings(raw.get("reasons"), 300),
            labels=_strings(raw.get("labels"), 40),
            components={
                clean_text(k, 40): float(v)
                for k, v in components.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)
            },
        )


@dataclass
class Dropped:
    """A candidate the shield kept from the list, with the reason in words."""

    item: Item
    reason: str

    def to_payload(self) -> dict[str, Any]:
        return {
            "item_id": self.item.item_id,
            "title": self.item.title,
            "creator": self.item.creator,
            "source": self.item.source,
            "reason": self.reason,
        }

    @classmethod
    def from_payload(cls, raw: Any) -> Dropped:
        if not isinstance(raw, dict):
            raise InvalidInput("a saved removal must be an object")
        item = Item.from_untrusted({k: raw.get(k) for k in ("item_id", "title", "creator", "source")})
        return cls(item=item, reason=clean_text(raw.get("reason"), 300))


@dataclass
class Turn:
    text: str  # what the user typed
    instruction: str  # what the agent acted on, follow-ups resolved, in words
    intent: Intent
    cards: list[Card] = field(default_factory=list)  # the whole ranking, best first
    removed: list[Dropped] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # platform -> what went wrong
    counts: dict[str, int] = field(default_factory=dict)  # platform -> items it sent
    sent: str = ""  # the words that left the machine
    note: str = ""  # how a follow-up was understood
    more: int = 0  # ranked candidates that were not saved with the turn (older versions kept 10)
    refined: bool = False  # re-ranked with the language model after the first answer
    # Constraints the answer could not apply (fully), in words: "'under 120 minutes' not applied: ..."
    notes: list[str] = field(default_factory=list)
    anchor: Item | None = None  # the card a "more like this" started from; follow-ups keep it out
    at: float = field(default_factory=time.time)
    message_id: int | None = None
    page: int = PAGE  # how many cards show; feedback that hides one brings the next one up
    view: View = field(default_factory=View)

    @property
    def pool(self) -> list[Card]:
        """Every card that could show: not taken out by feedback, kept by the view, in its order."""
        return self.view.order([c for c in self.cards if not c.hidden])

    @property
    def visible(self) -> list[Card]:
        """The cards on screen."""
        return self.pool[: self.page]

    @property
    def remaining(self) -> int:
        """Cards the view keeps below the ones on screen ("show more")."""
        return max(0, len(self.pool) - self.page)

    def show_more(self, n: int = PAGE) -> int:
        """Show up to `n` more cards; returns how many were added."""
        added = min(n, self.remaining)
        self.page += added
        return added

    @property
    def withheld(self) -> list[Dropped]:
        """Everything kept from the list: what feedback took out since (the user's latest doing, so
        first), then the shield's removals."""
        return [Dropped(c.item, c.hidden) for c in self.cards if c.hidden] + self.removed

    def card(self, item_id: str) -> Card | None:
        return next((c for c in self.cards if c.item.item_id == item_id), None)

    def summary(self) -> str:
        """The agent's reply in one line: how many are shown, from where, what was kept out.
        It follows the turn: feedback, paging and the view change it."""
        platforms = sorted(name for name, n in self.counts.items() if n)  # answer order varies by run
        shown, pool = len(self.visible), len(self.pool)
        if not shown:
            head = "Nothing to show"
            if not self.errors and not self.counts:
                head += ": no platform is switched on"
            elif self.errors and not platforms:
                head += ": no platform answered"
            elif not platforms:
                head += ": the platforms sent nothing for this"
            elif self.cards and self.view.narrowed and any(not c.hidden for c in self.cards):
                head += f": none is left in this view ({self.view.describe()})"
            else:
                head += ": everything they sent was kept out"
        else:
            head = f"{shown} pick{'s' if shown != 1 else ''}" if shown == pool else f"{shown} of {pool} picks"
            if platforms:
                head += " from " + ", ".join(platforms)
            if not self.view.plain:
                head += f", {self.view.describe()}"
        tail = []
        if self.removed:
            tail.append(f"{len(self.removed)} removed by the shield")
        taken = sum(1 for c in self.cards if c.hidden)
        if taken:
            tail.append(f"{taken} taken out by your feedback")
        if self.errors:
            tail.append(f"{len(self.errors)} platform{'s' if len(self.errors) != 1 else ''} failed")
        return head + (" (" + "; ".join(tail) + ")" if tail else "") + "."

    def to_payload(self) -> dict[str, Any]:
        return {
            "version": PAYLOAD_VERSION,
            "text": self.text,
            "instruction": self.instruction,
            "intent": self.intent.to_dict(),
            "cards": [c.to_payload() for c in self.cards],
            "removed": [r.to_payload() for r in self.removed],
            "errors": self.errors,
            "counts": self.counts,
            "sent": self.sent,
            "note": self.note,
            "more": self.more,
            "page": self.page,
            "view": self.view.to_dict(),
            "refined": self.refined,
            "notes": self.notes,
            "anchor": self.anchor.to_dict() if self.anchor is not None else None,
            "at": self.at,
        }

    @classmethod
    def from_payload(cls, raw: Any, *, message_id: int | None = None) -> Turn:
        """Rebuild a saved turn; entries that do not validate are left out, never trusted."""
        if not isinstance(raw, dict) or raw.get("version") != PAYLOAD_VERSION:
            raise InvalidInput("not a saved turn of this version")
        cards, removed = [], []
        for entry in raw.get("cards") or []:
            try:
                cards.append(Card.from_payload(entry))
            except InvalidInput:
                continue
        for entry in raw.get("removed") or []:
            try:
                removed.append(Dropped.from_payload(entry))
            except InvalidInput:
                continue
        at = raw.get("at")
        more = raw.get("more")
        try:
            anchor = Item.from_untrusted(raw["anchor"]) if raw.get("anchor") else None
        except InvalidInput:
            anchor = None
        page = raw.get("page")
        return cls(
            text=clean_text(raw.get("text"), 1000),
            instruction=clean_text(raw.get("instruction"), 1000),
            intent=intent_from_payload(raw.get("intent")),
            cards=cards,
            removed=removed,
            errors=_string_map(raw.get("errors")),
            counts={clean_text(k, 64): int(v) for k, v in (raw.get("counts") or {}).items()
                    if isinstance(v, int) and not isinstance(v, bool)} if isinstance(raw.get("counts"), dict) else {},
            sent=clean_text(raw.get("sent"), 300),
            note=clean_text(raw.get("note"), 300),
            more=more if isinstance(more, int) and not isinstance(more, bool) and more > 0 else 0,
            page=page if isinstance(page, int) and not isinstance(page, bool) and 0 < page <= 1000 else PAGE,
            view=View.from_payload(raw.get("view")),
            refined=raw.get("refined") is True,
            notes=_strings(raw.get("notes"), 300),
            anchor=anchor,
            at=float(at) if isinstance(at, (int, float)) and not isinstance(at, bool) else time.time(),
            message_id=message_id,
        )


def turns_from_messages(messages: Sequence[Message]) -> list[Turn]:
    """The answers of a saved conversation, as they were last ranked (a re-ranked answer replaces
    the first version of it). Replies without saved cards are skipped."""
    turns: list[Turn] = []
    for message in messages:
        if message.role != "agent":
            continue
        try:
            turn = Turn.from_payload(message.payload, message_id=message.id)
        except InvalidInput:
            continue  # a reply without saved cards (or from a future version): nothing to re-show
        replaces = message.payload.get("replaces")
        earlier = [n for n, t in enumerate(turns) if t.message_id == replaces]
        if earlier:
            turns[earlier[0]] = turn
        else:
            turns.append(turn)
    return turns


def intent_from_payload(raw: Any) -> Intent:
    if not isinstance(raw, dict):
        return Intent()

    def number(key: str) -> Any:
        v = raw.get(key)
        return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    min_year, max_year = number("min_year"), number("max_year")
    age = number("audience_age")
    return Intent(
        raw=clean_text(raw.get("raw"), 3000),
        wanted=_strings(raw.get("wanted"), 300),
        avoided=_strings(raw.get("avoided"), 300),
        exclude_creators=_strings(raw.get("exclude_creators"), 300),
        max_minutes=number("max_minutes"),
        min_year=int(min_year) if min_year is not None else None,
        max_year=int(max_year) if max_year is not None else None,
        item_type=clean_text(raw.get("item_type"), 40),
        audience_age=int(age) if age is not None and 0 <= age < 120 else None,
        audience=clean_text(raw.get("audience"), 40),
        mood=clean_text(raw.get("mood"), 40),
        public_query=clean_text(raw.get("public_query"), 300),
        source=clean_text(raw.get("source"), 20) or "rules",
    )


def _strings(value: Any, max_len: int) -> list[str]:
    if not isinstance(value, list):
        return []
    return [s for s in (clean_text(v, max_len) for v in value[:50] if isinstance(v, str)) if s]


def _string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {clean_text(k, 64): clean_text(v, 500) for k, v in list(value.items())[:50]}
