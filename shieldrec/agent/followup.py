"""Reading a message against the conversation so far.

"more like the second one" anchors the next search on that card; "no, shorter", "only
books" and "no horror" keep the previous request and add the new constraint; anything
else is a new request. The result is an Intent (what the ranking uses) and the request
in words (what the user sees the agent act on).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from shieldrec.agent.turn import Card, Turn
from shieldrec.intent import Intent
from shieldrec.items import Item
from shieldrec.sanitize import clean_text

Parser = Callable[[str], Intent]

_F = re.IGNORECASE
_ORDINALS = {
    "first": 1, "1st": 1, "top": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7, "eighth": 8, "8th": 8,
    "ninth": 9, "9th": 9, "tenth": 10, "10th": 10,
}
_INTERJECTION = re.compile(
    r"^(?:(?:no|nah|nope|ok|okay|hmm+|yes|yeah|great|nice|thanks|actually|well)\s*[,.!:;-]+\s*"
    r"|(?:but|and|also|plus|actually|now|this\s+time|then)\s+)",
    _F,
)
_ANCHOR = re.compile(
    r"^(?:(?:give|show|find|get)\s+me\s+|i\s+want\s+|i\s*'?d\s+like\s+)?"
    r"(?:(?:some|any)thing\s+|(?:some\s+)?more\s+|others?\s+|ones?\s+|stuff\s+)?"
    r"(?:like|similar\s+to|in\s+the\s+vein\s+of|along\s+the\s+lines\s+of)\s+(?P<ref>.+)$",
    _F,
)
_REF_END = re.compile(r"\s*(?:[,;]|\bbut\b|\band\b|\bonly\b|\bwithout\b|\bexcept\b)\s*", _F)
_NUMBER = re.compile(r"^(?:the\s+)?(?:#|no\.?\s*|number\s+)?(\d{1,3})(?:\s+one)?$", _F)
_ORDINAL = re.compile(r"^(?:the\s+)?(\w+)(?:\s+(?:one|item|result|pick|card))?$", _F)
_LAST = re.compile(r"^(?:the\s+)?(?:last|bottom)(?:\s+(?:one|item|result|pick|card))?$", _F)
_THIS = re.compile(r"^(?:this|that|it|this\s+one|that\s+one|the\s+one\s+(?:i\s+)?(?:picked|selected|chose))$", _F)
_REFINE_START = re.compile(
    r"^(?:no|nah|nope|not|only|just|without|but|and|also|plus|except|less|more|make\s+it|actually|rather"
    r"|instead|maybe|same\s+but|now|this\s+time|then|under|over|after|before|from)\b",
    _F,
)
_COMPARATIVE = re.compile(r"\b(?P<word>shorter|longer|newer|older|more\s+recent)\b", _F)
_FOLLOW_FILLER = re.compile(r"\b(?:only|just|instead|rather|please|also|too|ones|one|this\s+time|then)\b", _F)
_KIND_ONLY = re.compile(r"^(?:movies?|films?|books?|novels?|podcasts?|shows?|series|tv|articles?|videos?)$", _F)
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_ANCHOR_TEXT = 400


@dataclass
class Reading:
    """How one message is understood."""

    instruction: str  # the request the agent acts on, in words
    intent: Intent
    anchor: Item | None = None
    anchor_rank: int = 0
    note: str = ""  # for a follow-up: what it changed, in words
    kind: str = "new"  # new | refine | anchor


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def find_card(ref: str, cards: list[Card], focused: str | None = None) -> tuple[int, Card] | None:
    """The card a phrase points at ("the second one", "#3", "the last", a title), by position."""
    ref = ref.strip(" '\"“”‘’.!?")
    if not cards or not ref:
        return None
    m = _NUMBER.match(ref)
    if m:
        n = int(m.group(1))
        return (n, cards[n - 1]) if 1 <= n <= len(cards) else None
    m = _ORDINAL.match(ref)
    if m and m.group(1).lower() in _ORDINALS:
        n = _ORDINALS[m.group(1).lower()]
        return (n, cards[n - 1]) if n <= len(cards) else None
    if _LAST.match(ref):
        return len(cards), cards[-1]
    if _THIS.match(ref):
        for n, card in enumerate(cards, 1):
            if focused and card.item.item_id == focused:
                return n, card
        return 1, cards[0]
    wanted = _norm(ref)
    if len(wanted) < 3:
        return None
    for n, card in enumerate(cards, 1):
        if _norm(card.item.title) == wanted:
            return n, card
    for n, card in enumerate(cards, 1):
        title = _norm(card.item.title)
        if title.startswith(wanted) or f" {wanted} " in f" {title} ":
            return n, card
    return None


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _public(*parts: str, drop: set[str]) -> str:
    words = [w for p in parts for w in p.split() if w.lower() not in drop]
    return " ".join(dict.fromkeys(words))


def _avoided_words(intent: Intent) -> set[str]:
    return {w for phrase in [*intent.avoided, *intent.exclude_creators] for w in _words(phrase)}


def combine(previous: Intent, new: Intent, *, drop_runtime: bool = False) -> Intent:
    """The previous request with the new constraints on top; the newer word wins a conflict."""
    avoided = list(dict.fromkeys([*previous.avoided, *new.avoided]))
    gone = {a.lower() for a in avoided}
    wanted = [w for w in dict.fromkeys([*previous.wanted, *new.wanted]) if w.lower() not in gone]
    min_year, max_year = previous.min_year, previous.max_year
    if new.min_year is not None:
        min_year = new.min_year if min_year is None else max(min_year, new.min_year)
        if max_year is not None and max_year < min_year:
            max_year = None  # "newer" after "older": the newer word wins
    if new.max_year is not None:
        max_year = new.max_year if max_year is None else min(max_year, new.max_year)
        if min_year is not None and min_year > max_year:
            min_year = None
    if drop_runtime:
        max_minutes = new.max_minutes
    elif new.max_minutes is None or previous.max_minutes is None:
        max_minutes = new.max_minutes if previous.max_minutes is None else previous.max_minutes
    else:
        max_minutes = min(previous.max_minutes, new.max_minutes)
    merged = Intent(
        raw=", ".join(p for p in (previous.raw, new.raw) if p),
        wanted=wanted,
        avoided=avoided,
        exclude_creators=list(dict.fromkeys([*previous.exclude_creators, *new.exclude_creators])),
        max_minutes=max_minutes,
        min_year=min_year,
        max_year=max_year,
        item_type=new.item_type or previous.item_type,
        audience_age=new.audience_age if new.audience_age is not None else previous.audience_age,
        audience=new.audience if new.audience_age is not None else previous.audience,
        mood=new.mood or previous.mood,
        source=previous.source,
    )
    merged.public_query = _public(previous.public_query, new.public_query, drop=_avoided_words(merged))
    return merged


def _comparatives(text: str, previous: Intent) -> tuple[str, bool, list[str]]:
    """Replace "shorter"/"newer"/... with limits the parser reads; say what each became."""
    notes: list[str] = []
    drop_runtime = False

    def sub(m: re.Match[str]) -> str:
        nonlocal drop_runtime
        word = " ".join(m.group("word").lower().split())
        if word == "shorter":
            limit = previous.max_minutes * 0.75 if previous.max_minutes else 100.0
            limit = max(5.0, round(limit / 5) * 5)
            notes.append(f"under {limit:g} minutes where the length is known")
            return f"under {limit:g} minutes"
        if word == "longer":
            drop_runtime = True
            notes.append("no length limit")
            return " "
        if word in ("newer", "more recent"):
            year = (previous.min_year + 9) if previous.min_year else 1999
            notes.append(f"from {year + 1} on")
            return f"after {year}"
        year = (previous.max_year - 9) if previous.max_year else 1990
        notes.append(f"from before {year}")
        return f"before {year}"

    return _COMPARATIVE.sub(sub, text), drop_runtime, notes


def _strip_interjections(text: str) -> str:
    while True:
        stripped = _INTERJECTION.sub("", text, count=1).strip()
        if stripped == text:
            return text
        text = stripped


def _is_refinement(text: str) -> bool:
    if _REFINE_START.match(text) or _KIND_ONLY.match(text):
        return True
    return len(text.split()) <= 4 and bool(_COMPARATIVE.search(text))


def _describe(intent: Intent, before: Intent) -> str:
    parts = []
    if intent.item_type and intent.item_type != before.item_type:
        parts.append(f"only {intent.item_type}s")
    parts += [f"no {a}" for a in intent.avoided if a not in before.avoided]
    parts += [f"not by {c}" for c in intent.exclude_creators if c not in before.exclude_creators]
    parts += [f"'{w}'" for w in intent.wanted if w not in before.wanted]
    return ", ".join(parts)


def _refine(text: str, previous: Turn, parse: Parser) -> tuple[Intent, str, str]:
    """(combined intent, the change in words, the cleaned refinement text)."""
    body = _strip_interjections(text)
    body, drop_runtime, limits = _comparatives(body, previous.intent)
    body = " ".join(_FOLLOW_FILLER.sub(" ", body).split()).strip(" ,;")
    new = parse(body) if body else Intent()
    intent = combine(previous.intent, new, drop_runtime=drop_runtime)
    change = ", ".join(p for p in [_describe(intent, previous.intent), *limits] if p)
    return intent, change, body


def resolve(text: str, previous: Turn | None, parse: Parser, *, focused: str | None = None) -> Reading:
    """Read `text` as a new request or as a follow-up to `previous` (the last turn)."""
    text = clean_text(text, 1000)
    if previous is None:
        return Reading(instruction=text, intent=parse(text))
    opening = _strip_interjections(text)
    m = _ANCHOR.match(opening)
    if m:
        ref, _, rest = _split_ref(m.group("ref"))
        found = find_card(ref, previous.visible, focused)
        if found is not None:
            return _anchored(found, rest, previous, parse)
        # "more like <something not on the list>": a new request in its own right.
        return Reading(instruction=text, intent=parse(text))
    if _is_refinement(opening):
        intent, change, body = _refine(opening, previous, parse)
        instruction = clean_text(f"{previous.instruction}; {body or text}", 1000)
        note = f"Refining “{clean_text(previous.instruction, 80)}”" + (f": {change}" if change else "")
        # "no, shorter" after "more like X" is still about X: X itself stays out.
        return Reading(instruction=instruction, intent=intent, note=note + ".", kind="refine",
                       anchor=previous.anchor)
    return Reading(instruction=text, intent=parse(text))


def _split_ref(ref: str) -> tuple[str, str, str]:
    m = _REF_END.search(ref)
    if not m:
        return ref, "", ""
    return ref[: m.start()], m.group(0), ref[m.end():]


def _anchored(found: tuple[int, Card], rest: str, previous: Turn, parse: Parser) -> Reading:
    position, card = found
    item = card.item
    from shieldrec.ranking import facts  # the ranking's reading of tags, loaded with it

    tags = list(facts.genres(item))
    intent = previous.intent
    change = ""
    if rest.strip():
        intent, change, _ = _refine(rest, previous, parse)
    snippet = ". ".join(p for p in (item.title, ", ".join(tags[:6]), item.text[:_ANCHOR_TEXT]) if p)
    gone = _avoided_words(intent)
    tag_words = " ".join(w for t in tags[:2] for w in _words(t))
    anchored = replace(
        intent,
        raw=clean_text(f"{snippet}. {previous.intent.raw}" if previous.intent.raw else snippet, 3000),
        wanted=list(dict.fromkeys([*intent.wanted, item.title])),
        avoided=list(intent.avoided),
        exclude_creators=list(intent.exclude_creators),
        public_query=_public(intent.public_query, tag_words, drop=gone),
    )
    keeps = f", keeping “{clean_text(previous.instruction, 80)}”" if previous.instruction else ""
    note = f"More like #{position} '{item.title}'{keeps}" + (f"; {change}" if change else "") + "."
    instruction = f"more like '{item.title}'" + (f" ({previous.instruction})" if previous.instruction else "")
    instruction = clean_text(instruction + (f"; {rest.strip()}" if rest.strip() else ""), 1000)
    return Reading(instruction=instruction, intent=anchored, anchor=item, anchor_rank=position, note=note,
                   kind="anchor")
