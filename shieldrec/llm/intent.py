"""Reading an instruction with the language model, checked against the rule parser.

The model answers under a JSON schema (a grammar llama.cpp enforces token by token), the
answer is validated again here, and every hard constraint it claims must be grounded in
the instruction's own words: a creator it names must appear in the text, a number must
be one the text says. What survives is merged with the deterministic parser's reading,
which always runs and is the whole answer whenever the model's is unusable.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shieldrec.intent import Intent
from shieldrec.llm import prompts
from shieldrec.llm.schema import OffSchema, parse, validate
from shieldrec.ranking.constraints import MOODS, parse_instruction
from shieldrec.ranking.injection import find_injection
from shieldrec.sanitize import clean_text

if TYPE_CHECKING:
    from shieldrec.llm.client import LlmClient
    from shieldrec.llm.runtime import LocalLLM

log = logging.getLogger(__name__)

ITEM_TYPES = ("", "movie", "book", "podcast", "show", "article", "video", "music")
MAX_TOKENS = 200  # the schema's bounds keep any valid answer well under this

_PHRASE = {"type": "string", "maxLength": 40}
_PHRASES = {"type": "array", "items": _PHRASE, "maxItems": 4}


def _nullable_int(low: int, high: int) -> dict[str, object]:
    return {"anyOf": [{"type": "integer", "minimum": low, "maximum": high}, {"type": "null"}]}


INTENT_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {
        "wanted": _PHRASES,
        "avoided": _PHRASES,
        "exclude_creators": {"type": "array", "items": {"type": "string", "maxLength": 60}, "maxItems": 3},
        "max_minutes": _nullable_int(1, 1440),
        "min_year": _nullable_int(1500, 2100),
        "max_year": _nullable_int(1500, 2100),
        "item_type": {"enum": list(ITEM_TYPES)},
        "mood": {"enum": ["", *sorted(MOODS)]},
    },
    "required": ["wanted", "avoided", "exclude_creators", "max_minutes", "min_year", "max_year", "item_type", "mood"],
    "additionalProperties": False,
}

_BOUNDED = ("max_minutes", "min_year", "max_year")


def _without_bounds(schema: dict[str, object]) -> dict[str, object]:
    """INTENT_SCHEMA as llama-cpp-python's grammar enforces it: its JSON-schema converter
    ignores integer minimum/maximum, so a model may write a year of 10 under the grammar."""
    props = {k: dict(v) for k, v in schema["properties"].items()}  # type: ignore[union-attr]
    for key in _BOUNDED:
        props[key] = {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    return {**schema, "properties": props}


SHAPE = _without_bounds(INTENT_SCHEMA)

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_DECADE = re.compile(r"\b(?:(1[5-9]|20)(\d)0|'?(\d)0)'?s\b")


@dataclass
class IntentReading:
    """The merged intent and what happened to the model's part of it."""

    intent: Intent
    used_llm: bool
    note: str = ""  # why the model's answer was not used, or what was dropped from it
    answer: dict[str, object] | None = None  # the model's schema-valid answer, before grounding


def _grounded_number(value: int, text: str, minutes: bool = False) -> bool:
    numbers = {float(n.replace(",", ".")) for n in _NUMBER.findall(text)}
    if minutes:
        return any(value in (round(n), round(n * 60)) for n in numbers)
    return value in numbers or any(
        (m.group(1) and int(f"{m.group(1)}{m.group(2)}0") <= value <= int(f"{m.group(1)}{m.group(2)}9"))
        or (m.group(3) and value % 100 // 10 == int(m.group(3)))
        for m in _DECADE.finditer(text)
    )


_WORDS = re.compile(r"[^\W_]{3,}")
# The words that name a kind of item, for checking the model's `item_type` against the text.
_KIND_WORDS = {
    "movie": ("movie", "film", "flick", "cinema"), "book": ("book", "novel", "read", "audiobook"),
    "podcast": ("podcast", "episode"), "show": ("show", "series", "tv", "season"),
    "article": ("article", "news", "essay", "story"), "video": ("video", "clip"),
    "music": ("music", "song", "album", "track", "playlist"),
}


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORDS.findall(text)}


def _phrases(values: list[str], said: set[str], against: list[str], dropped: list[str]) -> list[str]:
    """Phrases that share a word with the request (a reading, not an invention), are not
    aimed at an agent, and do not contradict the rule parser's reading."""
    out = []
    # A phrase holding a word of the opposite reading ("something hopeful, no horror" as a
    # wish, when the rules read "horror" as avoided) contradicts it, whatever else it says.
    blocked = {w for a in against for w in _words(a)}
    for v in values:
        phrase = clean_text(v, 40)
        if not phrase:
            continue
        if find_injection(phrase) or _words(phrase) & blocked:
            dropped.append(f"{phrase!r} contradicts the request")
        elif not (_words(phrase) & said):
            dropped.append(f"{phrase!r} is not in the request")
        else:
            out.append(phrase)
    return list(dict.fromkeys(out))


def from_answer(answer: dict[str, object], text: str, rules: Intent) -> tuple[Intent, list[str]]:
    """The model's schema-valid answer as an Intent, keeping only what the text supports."""
    dropped: list[str] = []
    lower = text.lower()
    creators = []
    known = {c.lower() for c in rules.exclude_creators}
    for name in answer["exclude_creators"]:  # type: ignore[union-attr]
        clean = clean_text(name, 60)
        if not clean:
            continue
        # A name the request spells as one (capitalised, as whole words), or one the rules
        # found: not any stretch of the request ("nothing violent", a single letter).
        spelled = re.search(rf"(?<!\w){re.escape(clean)}(?!\w)", text, re.IGNORECASE)
        if clean.lower() in known or (spelled and len(clean) >= 3 and any(w[:1].isupper() for w in spelled.group().split())):
            creators.append(clean)
        else:
            dropped.append(f"creator {clean!r} is not named in the request")
    limits: dict[str, int | None] = {}
    for key in ("max_minutes", "min_year", "max_year"):
        value = answer[key]
        if isinstance(value, int) and not _grounded_number(value, text, minutes=key == "max_minutes"):
            dropped.append(f"{key}={value} is not in the request")
            value = None
        limits[key] = value  # type: ignore[assignment]
    if limits["min_year"] and limits["max_year"] and limits["min_year"] > limits["max_year"]:
        dropped.append("the year range is reversed")
        limits["min_year"] = limits["max_year"] = None
    said = _words(text)
    wanted = _phrases(list(answer["wanted"]), said, rules.avoided, dropped)  # type: ignore[arg-type]
    avoided = _phrases(list(answer["avoided"]), said, rules.wanted, dropped)  # type: ignore[arg-type]
    both = {p.lower() for p in wanted} & {p.lower() for p in avoided}
    if both:
        dropped.append(f"{', '.join(sorted(both))} both wanted and avoided")
        wanted = [p for p in wanted if p.lower() not in both]
        avoided = [p for p in avoided if p.lower() not in both]
    item_type = str(answer["item_type"])
    if item_type and not any(w in said or w + "s" in said for w in _KIND_WORDS.get(item_type, ())):
        dropped.append(f"item type {item_type!r} is not in the request")
        item_type = ""
    mood = str(answer["mood"])
    if mood and mood.lower() not in lower:
        dropped.append(f"mood {mood!r} is not in the request")
        mood = ""
    intent = Intent(
        raw=rules.raw,
        # A phrase the rules read as avoided cannot come back as wanted (and vice versa):
        # a negation the model missed must not turn "no horror" into a wish for horror.
        wanted=wanted,
        avoided=avoided,
        exclude_creators=list(dict.fromkeys(creators)),
        max_minutes=float(limits["max_minutes"]) if limits["max_minutes"] else None,
        min_year=limits["min_year"],
        max_year=limits["max_year"],
        item_type=item_type,
        mood=mood,
        public_query="",  # only the rule parser decides what may leave the machine
        source="llm",
    )
    return intent, dropped


def read_instruction(llm: LlmClient | LocalLLM | None, instruction: str, *, allow_base_model: bool = False) -> IntentReading:
    """The instruction read by the rules, and by the model when it can help.

    A base model (no chat template) is not asked unless `allow_base_model`: its grammar-
    constrained answer is valid JSON but rarely a good reading.
    """
    text = clean_text(instruction, 1000)
    rules = parse_instruction(text)
    if not text or llm is None:
        return IntentReading(rules, False, "no instruction" if not text else "no language model")
    if not llm.has_chat_template and not allow_base_model:
        return IntentReading(rules, False, f"{llm.info.name} is a base model: the rule parser reads instructions")
    dropped: list[str] = []
    try:
        if llm.has_chat_template:
            raw, finish = llm.chat(prompts.intent_messages(text), schema=INTENT_SCHEMA, max_tokens=MAX_TOKENS)
        else:
            raw, finish = llm.complete(prompts.intent_prompt(text), schema=INTENT_SCHEMA, max_tokens=MAX_TOKENS)
        answer = _within_bounds(parse(raw, SHAPE), dropped)
    except OffSchema as exc:
        log.info("language model's reading discarded: %s", exc)
        return IntentReading(rules, False, f"the model's answer was off-schema ({exc})")
    except Exception as exc:  # noqa: BLE001 - the rule parser's reading stands whatever happened
        log.warning("language model could not read the instruction: %s", exc)
        return IntentReading(rules, False, f"the model failed ({exc})")
    llm_intent, grounded = from_answer(answer, text, rules)
    merged = rules.merge(llm_intent)
    merged.public_query = rules.public_query
    return IntentReading(merged, True, "; ".join(dropped + grounded), answer)


def _within_bounds(answer: dict[str, object], dropped: list[str]) -> dict[str, object]:
    """The answer with each number outside INTENT_SCHEMA's bounds set to null (and noted):
    one impossible year costs that field, not the whole reading."""
    out = dict(answer)
    for key in _BOUNDED:
        value = out[key]
        if value is None:
            continue
        try:
            validate(value, INTENT_SCHEMA["properties"][key])  # type: ignore[index]
        except OffSchema:
            dropped.append(f"{key}={value} is out of range")
            out[key] = None
    validate(out, INTENT_SCHEMA)
    return out
