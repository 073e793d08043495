"""Query planning: the one place that decides what leaves the machine.

A platform gets the public, topical words of what the user typed, a page size and an item
kind, nothing else. Who it is for ("for my daughter who is 9"), how the user feels, ages,
health, exclusions ("no horror", "not by X": applied locally), length and year limits, and
request filler are all dropped. When in doubt a word stays home: the ranking happens
locally anyway, so a thinner query costs little and a leaked one cannot be taken back.
"""

from __future__ import annotations

import re

from shieldrec.intent import Intent
from shieldrec.platforms.base import LIMIT_MAX, QUERY_TEXT_MAX, Query

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
    r")\b",
    _FLAGS,
)

_WORD = re.compile(rf"[^\W\d_]+(?:[{_APOS[1:-1]}-][^\W\d_]+)*", _FLAGS)

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


def _public_words(text: str) -> tuple[list[str], str]:
    """The words of `text` that may be sent, and the item kind it names (if any)."""
    kind = ""
    kept: list[str] = []
    text = _LIMITS.sub(" , ", _REQUESTS.sub(" ", text))
    for clause in _CLAUSES.split(text):
        if not clause or not clause.strip():
            continue
        private = _PRIVATE_START.search(clause)
        public = clause[: private.start()] if private else clause
        for match in _WORD.finditer(public):
            word = match.group(0).lower().replace("’", "'")
            if word in _KINDS:
                kind = kind or _KINDS[word]
                continue
            if word in STOP_WORDS or len(word) < 2:
                continue
            kept.append(word)
    return list(dict.fromkeys(kept)), kind


def _excluded_words(intent: Intent | None) -> set[str]:
    if intent is None:
        return set()
    out: set[str] = set()
    for phrase in [*intent.avoided, *intent.exclude_creators]:
        out.update(w.lower() for w in _WORD.findall(phrase))
    return out


def plan_query(instruction: str, intent: Intent | None = None, limit: int = 20) -> Query:
    """The request every platform gets for this instruction; nothing else about the user is sent."""
    source = intent.public_query if intent is not None and intent.public_query.strip() else instruction
    words, kind = _public_words(source or "")
    if intent is not None and intent.public_query.strip():
        _, kind_from_instruction = _public_words(instruction or "")
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
