"""Query planning: the one place that decides what leaves the machine.

A platform gets the public, topical words of what the user typed, a page size and an item
kind, nothing else. Who it is for ("for my daughter who is 9", "for Zorbulonne"), how the
user feels, ages, health, exclusions ("no horror", "not by X": applied locally), length and
year limits, and request filler are all dropped. Then every word left must be known to be
public (`public_words.is_public`): a word no list knows, a name, a number, stays home. It
fails closed: the ranking happens locally anyway, so a thinner query costs little and a
leaked one cannot be taken back. What is sent can be shown, or put to the user to edit
before it goes (`REVIEW_MODES`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection

from shieldrec.errors import ShieldRecError
from shieldrec.intent import Intent
from shieldrec.platforms.base import LIMIT_MAX, QUERY_TEXT_MAX, Query
from shieldrec.platforms.public_words import guess_language, is_public
from shieldrec.sanitize import clean_text

# What the user sees of a query before it goes: "ask" puts it to them to edit or cancel,
# "show" shows what was sent with the answer, "silent" shows nothing (the audit log still has it).
REVIEW_MODES = ("ask", "show", "silent")


class QueryCancelled(ShieldRecError):
    """The user saw what would be sent and chose to send nothing."""

MAX_WORDS = 12

_FLAGS = re.IGNORECASE | re.UNICODE
_APOS = "['’]"

# Clause boundaries: a private span never runs past one.
_CLAUSES = re.compile(
    r"[,.;:!?()\[\]{}\n\"“”]+|\s[-–—]\s|\s+(?:but|because|cause|since|although|though|while|whereas|so\s+that)\s+",
    _FLAGS,
)

# How people ask: not private, just not worth sending.
_REQUESTS = re.compile(
    rf"\b(?:i|we)(?:\s+would|{_APOS}d)?\s+(?:really\s+)?(?:want|like|love|need|wanna|fancy|prefer)"
    rf"(?:\s+to\s+(?:watch|read|see|hear|listen\s+to|find))?\b"
    rf"|\b(?:i|we)(?:{_APOS}m|{_APOS}re|\s+am|\s+are)\s+(?:looking\s+for|after|in\s+the\s+mood\s+for|up\s+for)\b"
    r"|\b(?:give|show|find|recommend|suggest|get|send|tell|bring)\s+(?:me|us)\b"
    r"|\b(?:can|could|would|will)\s+you\b|\bplease\b|\bhow\s+about\b|\bwhat\s+about\b",
    _FLAGS,
)

# Hard limits the ranker applies locally: "under 2 hours", "after 1990", "from the 80s".
_LIMITS = re.compile(
    r"\b(?:under|below|less\s+than|shorter\s+than|at\s+most|max(?:imum)?|over|above|more\s+than|longer\s+than"
    r"|at\s+least|about|around|up\s+to)\s+\d+(?:[.,]\d+)?\s*(?:h|hrs?|hours?|m|mins?|minutes?|pages?)?\b"
    r"|\b(?:before|after|since|from|in|until|pre|post)[\s-]+(?:the\s+)?(?:\d{4}|\d0)(?:'?s)?\b",
    _FLAGS,
)

# Words that open a private span: it runs to the end of its clause and never leaves.
_PRIVATE_START = re.compile(
    r"\b(?:for|with|to|like|as|about)?\s*(?:"
    # the user and the people around them
    rf"i|i{_APOS}m|i{_APOS}ve|i{_APOS}d|i{_APOS}ll|me|my|mine|myself|we|we{_APOS}re|we{_APOS}ve|us|our|ours|ourselves"
    r"|daughter|daughters|son|sons|wife|husband|partner|girlfriend|boyfriend|fiancee?|spouse|mum|mom|mother|dad"
    r"|father|parents?|grandma|grandpa|grandmother|grandfather|granny|sister|brother|sibling|aunt|uncle|niece"
    r"|nephew|cousin|toddler|baby|boss|colleague|coworker|roommate|flatmate|neighbou?r|therapist|doctor"
    # states and circumstances
    r"|feel|feeling|feelings|felt|mood|sad|depressed|depression|anxious|anxiety|lonely|grieving|grief|divorce"
    r"|divorced|breakup|pregnant|pregnancy|sick|ill|illness|cancer|diagnosed|diagnosis|hospital|therapy|funeral"
    r"|died|dying|unemployed|fired|broke|recovering|recovery|sober|rehab|insomnia|can{_APOS}t\s+sleep"
    # ages and who-clauses about a person
    r"|who|whose|aged?|\d{1,3}\s*-?\s*(?:years?|yrs?|yo|y/o|months?)(?:\s*-?\s*old)?"
    # exclusions, applied locally
    r"|no|not|nothing|none|nor|without|avoid|avoiding|except|excluding|skip|skipping|never|minus|less"
    r"|don{_APOS}t|doesn{_APOS}t|isn{_APOS}t|aren{_APOS}t|won{_APOS}t|hate|hates|dislike|dislikes"
    # the same openings in the other languages checked: possessives, who-clauses, exclusions
    r"|mi|mis|nuestro|nuestra|para\s+mi|sin|nada|ni|nunca|excepto|quien|que\s+tiene"
    r"|mon|ma|mes|notre|nos|pas|sans|rien|jamais|sauf|qui\s+a"
    r"|mein|meine|meinem|meinen|meiner|unser|unsere|nicht|kein|keine|keinen|ohne|nichts|nie|außer|der\s+ist|die\s+ist"
    r"|mio|mia|miei|mie|nostro|nostra|non(?!-)|senza|niente|nessun|nessuna|mai|tranne"
    r"|meu|minha|meus|minhas|nosso|nossa|não|nao|sem|exceto"
    r"|mijn|onze|ons|niet|geen|zonder|niets|nooit|behalve"
    r")\b",
    _FLAGS,
)

# "for Zorbulonne", "with Sam", "to Brennafox's": a name (or any word not known to be public)
# after these is who the request is for, and the rest of its clause stays home.
_RECIPIENT = re.compile(
    r"\b(?:for|to|with|para|pour|für|fuer|per|voor|con|avec|mit|met)\s+(?:(?:the|a|an|my|our)\s+)?"
    rf"([^\W_]+(?:[{_APOS[1:-1]}-][^\W_]+)*)",
    _FLAGS,
)

# Words, numbers and words with digits ("9th", "12-year-old") alike: the latter never go out.
_WORD = re.compile(rf"[^\W_]+(?:[{_APOS[1:-1]}-][^\W_]+)*", _FLAGS)

_KINDS = {
    "movie": "movie", "movies": "movie", "film": "movie", "films": "movie", "flick": "movie", "flicks": "movie",
    "book": "book", "books": "book", "novel": "book", "novels": "book", "read": "book",
    "podcast": "podcast", "podcasts": "podcast", "episode": "podcast", "episodes": "podcast",
    "show": "show", "shows": "show", "series": "show", "tv": "show",
    "article": "article", "articles": "article", "news": "article",
}

STOP_WORDS = frozenset(
    """a about above after again all also am an and any anything are around as at be been being below
    best between both by can could did do does doing done down during each else ever every few for from further
    get got had has have having he her here hers him his how if in into is it its itself just kind kinda least
    let like likes liked lot lots made make many may maybe me might more most much must need needs new next nice
    of off ok okay on once one ones only or other others otherwise out over own perhaps please pretty quite rather
    really recommend recommendation recommendations recommended same see seen she should so some something
    somewhat sort stuff such suggest suggestion suggestions than that the their theirs them then there these they
    thing things this those through to today tomorrow tonight too type under until up upon very via want wanted
    wants was watch watched watching way well were what whatever when where whether which while who whom why will
    with within would yeah yet you your yours weekend evening night morning afternoon good great fun
    someone somebody anyone anybody everyone everybody""".split()
)


def _recipient(clause: str, vocabulary: Collection[str], language: str) -> int | None:
    """Where a "for <someone>" span starts in `clause`, if it has one."""
    for match in _RECIPIENT.finditer(clause):
        word = match.group(1)
        if word[:1].isupper() or not is_public(word.lower().replace("’", "'"), vocabulary, language):
            return match.start()
    return None


def _public_words(text: str, vocabulary: Collection[str] = ()) -> tuple[list[str], str]:
    """The words of `text` that may be sent, and the item kind it names (if any)."""
    kind = ""
    kept: list[str] = []
    text = _LIMITS.sub(" , ", _REQUESTS.sub(" ", text))
    language = guess_language([w.lower() for w in _WORD.findall(text) if not any(c.isdigit() for c in w)])
    for clause in _CLAUSES.split(text):
        if not clause or not clause.strip():
            continue
        starts = [m.start() for m in [_PRIVATE_START.search(clause)] if m]
        starts += [i for i in [_recipient(clause, vocabulary, language)] if i is not None]
        public = clause[: min(starts)] if starts else clause
        for match in _WORD.finditer(public):
            word = match.group(0).lower().replace("’", "'")
            if word in _KINDS:
                kind = kind or _KINDS[word]
                continue
            if any(c.isdigit() for c in word) or word in STOP_WORDS or len(word) < 2:
                continue
            if is_public(word, vocabulary, language):
                kept.append(word)
    return list(dict.fromkeys(kept)), kind


def _excluded_words(intent: Intent | None) -> set[str]:
    if intent is None:
        return set()
    out: set[str] = set()
    for phrase in [*intent.avoided, *intent.exclude_creators]:
        out.update(w.lower() for w in _WORD.findall(phrase))
    return out


def plan_query(instruction: str, intent: Intent | None = None, limit: int = 20, *,
               vocabulary: Collection[str] = ()) -> Query:
    """The request every platform gets for this instruction; nothing else about the user is sent.

    `vocabulary`: words the platforms themselves sent (titles, creators, genres of items
    already shown), which are public whatever a frequency list says (`catalogue_words`)."""
    source = intent.public_query if intent is not None and intent.public_query.strip() else instruction
    words, kind = _public_words(source or "", vocabulary)
    if intent is not None and intent.public_query.strip():
        _, kind_from_instruction = _public_words(instruction or "", vocabulary)
        kind = kind or kind_from_instruction
    excluded = _excluded_words(intent)
    words = [w for w in words if w not in excluded][:MAX_WORDS]
    text = " ".join(words)
    while len(text) > QUERY_TEXT_MAX:
        words.pop()
        text = " ".join(words)
    if intent is not None and intent.item_type:
        kind = _KINDS.get(intent.item_type.lower(), intent.item_type.lower())
    return Query(text=text, limit=max(1, min(LIMIT_MAX, int(limit))), kind=kind if kind.isalpha() else "")


def edited_query(planned: Query, typed: str) -> Query:
    """The query the user chose to send after seeing `planned` (their own words, so sent as
    typed, cleaned and capped); empty text sends only the item kind and page size."""
    words = _WORD.findall(clean_text(typed, QUERY_TEXT_MAX))
    text = " ".join(words)[:QUERY_TEXT_MAX].strip()
    return Query(text=text, limit=planned.limit, kind=planned.kind)


async def reviewed(planned: Query, mode: str, ask: Callable[[Query], Awaitable[Query | None]] | None) -> Query:
    """The query to send under review `mode`: in "ask" mode `ask` shows `planned` to the user,
    who may edit it (see `edited_query`) or cancel; without a way to ask, nothing is sent."""
    if mode not in ("show", "silent"):
        if ask is None:
            raise QueryCancelled(
                "nothing was sent: the settings say to ask before a search goes out ([privacy] query_review = "
                '"ask"), and this screen cannot ask'
            )
        chosen = await ask(planned)
        if chosen is None:
            raise QueryCancelled("nothing was sent: the search was cancelled")
        return chosen
    return planned
