"""The data ShieldRec moves around: items, history events, preferences.

Constructors that take untrusted input (`Item.from_untrusted`, `HistoryEvent.from_untrusted`)
are the only way outside data becomes one of these; they sanitize and validate.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from shieldrec.errors import InvalidInput
from shieldrec.sanitize import clean_body, clean_meta, clean_text, clean_title, hidden_controls

EVENTS = ("liked", "disliked", "skipped", "consumed", "rated", "not_now")
PREF_KINDS = ("like", "avoid", "block")
PREF_TARGETS = ("topic", "creator", "item", "source")
ORIGINS = ("stated", "learned")

Event = Literal["liked", "disliked", "skipped", "consumed", "rated", "not_now"]


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y", "sponsored", "ad", "promoted")
    return bool(value)


def json_kind(value: Any) -> str:
    """A JSON value's kind in words, for messages about untrusted input (a fraction shows itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, float) and not value.is_integer():
        return f"a number with a fraction ({value:g})"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def tricks_in(*values: Any) -> list[str]:
    """Every hostile trick found in any of `values`, each named once."""
    return list(dict.fromkeys(kind for v in values for kind in hidden_controls(v)))


@dataclass
class Item:
    item_id: str
    title: str
    text: str = ""
    creator: str = ""
    source: str = ""
    url: str = ""
    sponsored: bool = False
    meta: dict[str, Any] = field(default_factory=dict)
    # Every platform that returned this item (fan-out de-duplication keeps them all).
    platforms: list[str] = field(default_factory=list)
    # What the sanitizer removed that only a hostile sender puts in (`hidden_controls`): cleaning
    # makes the text safe, this keeps the attempt visible to the ranking.
    tricks: list[str] = field(default_factory=list)

    @classmethod
    def from_untrusted(cls, raw: Any, *, platform: str = "") -> "Item":
        if not isinstance(raw, dict):
            raise InvalidInput(f"an item must be an object, got {type(raw).__name__}")
        raw_id = raw.get("item_id", raw.get("id"))
        if raw_id is not None and (isinstance(raw_id, bool) or not isinstance(raw_id, (str, int))):
            raise InvalidInput(f"'item_id' should be text or a whole number, got {json_kind(raw_id)}")
        item_id = clean_text(raw_id, 200)
        title = clean_title(raw.get("title"))
        if not item_id:
            raise InvalidInput("an item needs a non-empty 'item_id'")
        if not title:
            raise InvalidInput(f"item {item_id!r} needs a non-empty 'title'")
        meta = raw.get("meta") or {}
        if not isinstance(meta, dict):
            raise InvalidInput(f"item {item_id!r}: 'meta' must be an object")
        url = clean_text(raw.get("url"), 2000)
        if url and not url.lower().startswith(("http://", "https://")):
            url = ""  # only web links are ever opened
        platforms = raw.get("platforms") or ([platform] if platform else [])
        raw_text, raw_creator = raw.get("text") or raw.get("description") or "", raw.get("creator")
        text, creator = clean_body(raw_text), clean_text(raw_creator)
        # Only a string the sanitizer changed can have carried a trick: clean input skips the scan.
        tricks = tricks_in(*(r for r, c in ((raw.get("title"), title), (raw_text, text), (raw_creator, creator))
                             if r != c))
        return cls(
            item_id=item_id,
            title=title,
            text=text,
            creator=creator,
            source=clean_text(raw.get("source") or platform),
            url=url,
            sponsored=_truthy(raw.get("sponsored", False)),
            meta=clean_meta(meta),
            platforms=[clean_text(p, 100) for p in platforms if p][:20],
            tricks=tricks,
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if not self.tricks:
            del out["tricks"]  # the rare case; exports and snapshots stay as they were
        return out

    @property
    def content(self) -> str:
        """The text that describes the item for embedding and matching."""
        return f"{self.title}. {self.text}".strip() if self.text else self.title


@dataclass
class HistoryEvent:
    item: Item
    event: str
    rating: float | None = None
    instruction: str = ""
    at: float = field(default_factory=time.time)
    id: int | None = None

    @classmethod
    def from_untrusted(cls, raw: Any, item: Item | None = None) -> "HistoryEvent":
        """`item`, when given, is the entry's item already built (and checked) by the caller."""
        if not isinstance(raw, dict):
            raise InvalidInput(f"a history entry must be an object, got {type(raw).__name__}")
        event = raw.get("event", "consumed")
        if event not in EVENTS:  # already one of them: nothing to clean (the common case, kept cheap)
            event = clean_text(event, 20).lower()
        if event not in EVENTS:
            raise InvalidInput(f"unknown history event {event!r} (one of {', '.join(EVENTS)})")
        rating = raw.get("rating")
        if rating is not None:
            if isinstance(rating, bool) or not isinstance(rating, (int, float)):
                raise InvalidInput("'rating' must be a number")
            rating = float(rating)
        at = raw.get("at", time.time())
        if isinstance(at, bool) or not isinstance(at, (int, float)):
            raise InvalidInput("'at' must be a unix timestamp")
        return cls(
            item=item if item is not None else Item.from_untrusted(raw.get("item", raw)),
            event=event,
            rating=rating,
            instruction=clean_text(raw.get("instruction"), 1000),
            at=float(at),
        )

    @property
    def positive(self) -> bool:
        if self.event == "rated" and self.rating is not None:
            return self.rating >= 4
        return self.event in ("liked", "consumed")

    @property
    def negative(self) -> bool:
        if self.event == "rated" and self.rating is not None:
            return self.rating <= 2
        return self.event == "disliked"

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item.to_dict(),
            "event": self.event,
            "rating": self.rating,
            "instruction": self.instruction,
            "at": self.at,
        }


@dataclass
class Preference:
    kind: str  # like | avoid | block
    target: str  # topic | creator | item | source
    value: str
    weight: float = 1.0
    origin: str = "stated"  # stated | learned
    evidence: str = ""  # for learned entries: what taught it, in plain words
    id: int | None = None
    created_at: float = field(default_factory=time.time)

    @classmethod
    def from_untrusted(cls, raw: Any) -> "Preference":
        if not isinstance(raw, dict):
            raise InvalidInput("a preference must be an object")
        kind = clean_text(raw.get("kind"), 10).lower()
        target = clean_text(raw.get("target", "topic"), 10).lower()
        origin = clean_text(raw.get("origin", "stated"), 10).lower()
        value = clean_text(raw.get("value"), 300)
        if kind not in PREF_KINDS:
            raise InvalidInput(f"preference kind {kind!r} is not one of {', '.join(PREF_KINDS)}")
        if target not in PREF_TARGETS:
            raise InvalidInput(f"preference target {target!r} is not one of {', '.join(PREF_TARGETS)}")
        if origin not in ORIGINS:
            raise InvalidInput(f"preference origin {origin!r} is not one of {', '.join(ORIGINS)}")
        if not value:
            raise InvalidInput("a preference needs a non-empty 'value'")
        weight = raw.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 10:
            raise InvalidInput("'weight' must be a number between 0 and 10")
        created = raw.get("created_at", time.time())
        return cls(
            kind=kind,
            target=target,
            value=value,
            weight=float(weight),
            origin=origin,
            evidence=clean_text(raw.get("evidence"), 500),
            created_at=float(created) if isinstance(created, (int, float)) else time.time(),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "value": self.value,
            "weight": self.weight,
            "origin": self.origin,
            "evidence": self.evidence,
            "created_at": self.created_at,
        }

    def describe(self) -> str:
        """The entry in plain words, as the profile screen shows it."""
        verb = {"like": "likes", "avoid": "avoids", "block": "blocks"}[self.kind]
        # A block always names what it blocks: "blocks Short Film" could be a title or a studio.
        plain_topic = self.target == "topic" and self.kind != "block"
        what = self.value if plain_topic else f"{self.target} '{self.value}'"
        tail = f" (learned: {self.evidence})" if self.origin == "learned" and self.evidence else ""
        return f"{verb} {what}{tail}"
