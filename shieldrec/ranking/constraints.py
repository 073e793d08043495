"""The deterministic instruction parser: negations, exclusions and limits, no model needed.

"something hopeful, no horror, not by Stephen King, under 2 hours" becomes
wanted=["hopeful"], avoided=["horror"], exclude_creators=["Stephen King"],
max_minutes=120. The parser also picks the public keywords a platform may see; private
parts ("for my daughter who is 9"), negations and limits stay on the machine.
"""

from __future__ import annotations

import re
from functools import lru_cache

from shieldrec.intent import Intent
from shieldrec.sanitize import clean_text

_F = re.IGNORECASE
_APOS = "['’]"

_CLAUSE = re.compile(r"[,;.!?()\[\]{}\n\"“”]+|\s[-–—]\s|\s+(?:but|though|although|however|yet|whereas)\s+", _F)
_ALTERNATIVES = re.compile(r"\s*(?:\bor\b|\band\b|\bnor\b|\babout\b|&|/|\+)\s*", _F)

_NEGATION = re.compile(
    rf"\b(?:no|not|nothing|none|without|avoid(?:ing)?|skip(?:ping)?|except|excluding|exclude|minus|never|neither|nor"
    rf"|(?:i\s+)?(?:don{_APOS}?t|do\s+not|doesn{_APOS}?t|does\s+not)\s+(?:want|need|like|care\s+for|show|give|include)"
    rf"|(?:i{_APOS}?m\s+|i\s+am\s+)?not\s+into|no\s+more|anything\s+but|hate|hates|dislike|dislikes"
    rf"|can{_APOS}?t\s+stand|stay\s+away\s+from|steer\s+clear\s+of|free\s+(?:of|from)|spare\s+me)\b",
    _F,
)

_CREATOR_EXCLUSION = re.compile(
    rf"\b(?:not|nothing|no|none|never|without\s+(?:anything|any\w*)?|(?:don{_APOS}?t|do\s+not)\s+(?:want|show)(?:\s+anything)?|avoid)"
    r"\s+(?:(?:\w+\s+){0,2}?)(?:(?:written|directed|made|created|produced|sung|hosted|narrated)\s+)?(?:by|from)\s+"
    r"(?!the\s+(?:\d|\'))(?!\d)(?P<who>[^,;.!?()\n]+)",
    _F,
)

_UNIT_MIN = {"h": 60.0, "hr": 60.0, "hrs": 60.0, "hour": 60.0, "hours": 60.0,
             "m": 1.0, "min": 1.0, "mins": 1.0, "minute": 1.0, "minutes": 1.0}
_AMOUNT = r"(?P<n>\d+(?:[.,]\d+)?|an?|one|two|three|four)"
_UNIT = r"\s*(?P<unit>hours?|hrs?|h|minutes?|mins?|m)\b(?P<half>\s+and\s+a\s+half)?"
_RUNTIMES = (
    re.compile(
        rf"\b(?:under|below|less\s+than|shorter\s+than|no\s+(?:longer|more)\s+than|not\s+(?:longer|more)\s+than"
        rf"|at\s+most|max(?:imum)?|up\s+to|within|tops)\s+{_AMOUNT}{_UNIT}",
        _F,
    ),
    re.compile(rf"\b{_AMOUNT}{_UNIT}\s+(?:or\s+(?:less|shorter|under)|max(?:imum)?|tops|at\s+most)", _F),
)
_NUMBER_WORDS = {"a": 1.0, "an": 1.0, "one": 1.0, "two": 2.0, "three": 3.0, "four": 4.0}

_DECADE = re.compile(r"\b(?:from\s+|in\s+)?(?:the\s+)?(?:(?P<century>1[5-9]|20)(?P<d4>\d)0|'?(?P<d2>\d)0)'?s\b", _F)
_BETWEEN = re.compile(r"\b(?:between|from)\s+(?P<a>1[5-9]\d\d|20\d\d)\s+(?:and|to|-|–|until)\s+(?P<b>1[5-9]\d\d|20\d\d)\b", _F)
_AFTER = re.compile(r"\b(?P<op>after|since|post-?|newer\s+than|later\s+than)\s*(?P<y>1[5-9]\d\d|20\d\d)\b(?!s)", _F)
_BEFORE = re.compile(r"\b(?P<op>before|pre-?|older\s+than|earlier\s+than|until|up\s+to)\s*(?P<y>1[5-9]\d\d|20\d\d)\b(?!s)", _F)
_IN_YEAR = re.compile(r"\b(?:in|of|from)\s+(?P<y>1[5-9]\d\d|20\d\d)\b(?!s)", _F)

# Who the item is for, when it is a child: "my daughter who is 9", "for my 7-year-old", "for the kids".
_AGE_NUMBER = re.compile(
    r"\b(?P<n>\d{1,2})\s*-?\s*(?:years?|yrs?|yo|y/o)(?:\s*-?\s*olds?)?\b"
    rf"|\b(?:who\s+is|who{_APOS}s|(?:she|he)\s+is|(?:she|he){_APOS}s|aged?|turning|just\s+turned)\s+(?P<m>\d{{1,2}})\b"
    r"(?!\s*(?:minutes?|mins?|hours?|hrs?|%|pages?))",
    _F,
)
_AGE_WORDS = re.compile(
    r"\b(?:for|with|to)\s+(?:my|our|the|a|young|little|\s)*(?P<who>kids?|children|child|toddlers?|little\s+ones?|"
    r"preschoolers?|teens?|teenagers?)\b",
    _F,
)
_AGE_OF = {"toddler": 3, "toddlers": 3, "preschooler": 4, "preschoolers": 4, "teen": 13, "teens": 13,
           "teenager": 13, "teenagers": 13}
CHILD_AGE = 8  # "for the kids" without an age: checked as for a young child


def _audience(text: str, intent: Intent) -> None:
    """Read who the item is for ("my daughter who is 9") into `intent`; the words stay private."""
    ages = [int(m.group("n") or m.group("m")) for m in _AGE_NUMBER.finditer(text)]
    ages = [a for a in ages if 0 < a < 18]
    if ages:
        intent.audience_age = min(ages)
        intent.audience = f"a {intent.audience_age}-year-old"
        return
    m = _AGE_WORDS.search(text)
    if m:
        who = " ".join(m.group("who").lower().split())
        intent.audience_age = _AGE_OF.get(who, CHILD_AGE)
        intent.audience = "teenagers" if intent.audience_age >= 13 else "children"


_KINDS = {
    "movie": "movie", "movies": "movie", "film": "movie", "films": "movie", "flick": "movie", "flicks": "movie",
    "book": "book", "books": "book", "novel": "book", "novels": "book", "audiobook": "book", "audiobooks": "book",
    "podcast": "podcast", "podcasts": "podcast", "episode": "podcast", "episodes": "podcast",
    "show": "show", "shows": "show", "tv": "show", "series": "show",
    "article": "article", "articles": "article", "news": "article", "video": "video", "videos": "video",
    "song": "music", "songs": "music", "album": "music", "albums": "music", "music": "music",
}

_REQUEST = re.compile(
    rf"\b(?:(?:i|we)(?:\s+would|{_APOS}d)?\s+(?:really\s+)?(?:want|like|love|need|wanna|fancy|prefer)(?:\s+to\s+(?:watch|read|see|hear|listen\s+to|find))?"
    rf"|(?:i|we)(?:{_APOS}m|{_APOS}re|\s+am|\s+are)\s+(?:looking\s+for|after|in\s+the\s+mood\s+for|up\s+for)"
    r"|(?:give|show|find|recommend|suggest|get|send|tell|bring)\s+(?:me|us)|(?:can|could|would|will)\s+you"
    r"|please|how\s+about|what\s+about|looking\s+for|in\s+the\s+mood\s+for|recommend|suggest)\b",
    _F,
)

# A private span starts at one of these and runs to the end of its clause; it never leaves.
_PRIVATE = re.compile(
    rf"\b(?:(?:for|with|to|like|as|about)\s+)?(?:i|i{_APOS}m|i{_APOS}ve|i{_APOS}d|i{_APOS}ll|me|my|mine|myself|we"
    rf"|we{_APOS}re|us|our|ours|ourselves|he|she|him|her|his|they|them|their"
    r"|daughters?|sons?|wife|husband|partner|girlfriend|boyfriend|spouse|mum|mom|mother|dad|father|parents?"
    r"|grandma|grandpa|grandmother|grandfather|sister|brother|siblings?|aunt|uncle|niece|nephew|cousin|toddler|baby"
    r"|kid|boss|colleague|coworker|roommate|flatmate|friends?|neighbou?r|therapist|doctor"
    r"|feel|feeling|feelings|felt|depressed|depression|anxious|anxiety|lonely|grieving|grief|divorce|divorced"
    r"|breakup|pregnant|pregnancy|sick|ill|illness|cancer|diagnosed|diagnosis|hospital|therapy|funeral|died|dying"
    r"|unemployed|fired|recovering|recovery|sober|rehab|insomnia"
    r"|who|whose|aged?|\d{1,3}\s*-?\s*(?:years?|yrs?|yo|y/o|months?)(?:\s*-?\s*old)?)\b",
    _F,
)

_FILLER = frozenset(
    """a an the any anything something some stuff things thing kind sort of type too very really more much
    overly super that is are was be with about just content scenes scene please maybe perhaps also good nice
    great new one ones lots lot little bit no not nothing none without never nor""".split()
)
_STOP = _FILLER | frozenset(
    """and or but for from in on at to by it its this these those i me my we us our you your
    tonight today tomorrow weekend evening night morning afternoon now watch read see listen hear
    want wanted wants like love need find get give show recommend suggest""".split()
)
MOODS = frozenset(
    """hopeful uplifting happy cheerful cozy cosy comforting warm wholesome gentle calm relaxing light lighthearted
    light-hearted funny silly dark gritty bleak sad melancholic moody tense thrilling exciting scary spooky
    creepy romantic heartwarming inspiring inspirational nostalgic whimsical quirky weird thoughtful
    intense epic feel-good optimistic""".split()
)
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_EDGE = re.compile(r"^[\W_]+|[\W_]+$")
MAX_TOPIC_WORDS = 8  # a longer "no ..." clause is a sentence, not a topic to look for
# From this many words an instruction reads as a description of what is wanted (a review, a plot, a
# paragraph about a film), where "does not work with the PS4 controller" describes and asks nothing away:
# there only a clause that opens with its negation ("no horror", "I don't want gore") sets something aside.
DESCRIPTIVE_WORDS = 15
_OPENERS = frozenset({"", "i", "and", "please", "but", "just", "also", "so", "or", "and please", "oh", "ok"})


def descriptive(text: str) -> bool:
    """Whether an instruction reads as a description of what is wanted rather than a request."""
    return len(_WORD.findall(text)) >= DESCRIPTIVE_WORDS


# "It does not work with...", "Was not what I expected": a statement about an item (a review's title), not a
# request to leave something out, whatever the instruction's length.
_STATEMENT = re.compile(r"^(?:(?:it|this|that|they|he|she|i|we|you)\s+)?(?:does|did|do|is|was|are|were|has|had|have"
                        r"|would|will|could|can|should|wo|ca)$", _F)


def _negation(clause: str, prose: bool) -> re.Match[str] | None:
    """The negation that sets the rest of `clause` aside, if it does."""
    neg = _NEGATION.search(clause)
    if neg is None:
        return None
    before = " ".join(clause[: neg.start()].lower().split())
    if _STATEMENT.match(before) or (prose and before not in _OPENERS):
        return None
    return neg
_IGNORED_NEGATIONS = frozenset({"long", "short", "old", "new", "recent", "much", "too", "a", "the", "too long"})


def _minutes(m: re.Match[str]) -> float:
    raw = m.group("n").lower().replace(",", ".")
    amount = _NUMBER_WORDS.get(raw) or float(raw)
    unit = m.group("unit").lower()
    if m.group("half"):
        amount += 0.5
    return amount * _UNIT_MIN.get(unit, 1.0)


def _decade(m: re.Match[str]) -> tuple[int, int]:
    if m.group("century"):
        start = int(m.group("century")) * 100 + int(m.group("d4")) * 10
    else:
        d = int(m.group("d2"))
        start = (1900 if d >= 3 else 2000) + d * 10
    return start, start + 9


def _tighten(intent: Intent, low: int | None, high: int | None) -> None:
    if low is not None:
        intent.min_year = low if intent.min_year is None else max(intent.min_year, low)
    if high is not None:
        intent.max_year = high if intent.max_year is None else min(intent.max_year, high)


def _limits(text: str, intent: Intent) -> str:
    """Read running-time and year limits into `intent`; return the text without them."""
    for pattern in _RUNTIMES:
        for m in pattern.finditer(text):
            minutes = _minutes(m)
            if minutes > 0:
                intent.max_minutes = minutes if intent.max_minutes is None else min(intent.max_minutes, minutes)
        text = pattern.sub(" , ", text)
    for m in _BETWEEN.finditer(text):
        a, b = sorted((int(m.group("a")), int(m.group("b"))))
        _tighten(intent, a, b)
    text = _BETWEEN.sub(" , ", text)
    for m in _DECADE.finditer(text):
        _tighten(intent, *_decade(m))
    text = _DECADE.sub(" , ", text)
    for m in _AFTER.finditer(text):
        y = int(m.group("y"))
        _tighten(intent, y + 1 if m.group("op").lower() in ("after", "newer than", "later than") else y, None)
    text = _AFTER.sub(" , ", text)
    for m in _BEFORE.finditer(text):
        y = int(m.group("y"))
        _tighten(intent, None, y - 1 if m.group("op").lower().startswith(("before", "pre", "older", "earlier")) else y)
    text = _BEFORE.sub(" , ", text)
    for m in _IN_YEAR.finditer(text):
        y = int(m.group("y"))
        _tighten(intent, y, y)
    return _IN_YEAR.sub(" , ", text)


def _trim(phrase: str) -> str:
    words = phrase.split()

    def filler(word: str) -> bool:
        bare = _EDGE.sub("", word.lower())
        return not bare or bare in _FILLER or bare in _STOP

    while words and filler(words[0]):
        words.pop(0)
    while words and filler(words[-1]):
        words.pop()
    return " ".join(words)


def _phrases(text: str) -> list[str]:
    out = []
    for part in _ALTERNATIVES.split(text):
        part = _trim(part.strip(" '\"’-"))
        if part and any(ch.isalnum() for ch in part):
            out.append(part)
    return out


def _kind_words(text: str, intent: Intent) -> str:
    def drop(m: re.Match[str]) -> str:
        word = m.group(0)
        kind = _KINDS.get(word.lower())
        if kind is None:
            return word
        intent.item_type = intent.item_type or kind
        return " "
    return _WORD.sub(drop, text)


@lru_cache(maxsize=4096)
def _parse(text: str) -> Intent:
    intent = Intent(raw=text, source="rules")
    _audience(text, intent)
    work = _limits(text, intent)

    for m in _CREATOR_EXCLUSION.finditer(work):
        for who in _ALTERNATIVES.split(m.group("who")):
            who = _trim(who.strip(" '\"’"))
            if who and who.lower() not in intent.exclude_creators and not _KINDS.get(who.lower()):
                intent.exclude_creators.append(who)
    work = _CREATOR_EXCLUSION.sub(" , ", work)

    wanted: list[str] = []
    public: list[str] = []
    prose = descriptive(work)
    for clause in _CLAUSE.split(work):
        if not clause or not clause.strip():
            continue
        neg = _negation(clause, prose)
        positive, negated = (clause[: neg.start()], clause[neg.end():]) if neg else (clause, "")
        for phrase in _phrases(_kind_words(negated, intent)):
            low = phrase.lower()
            if low not in _IGNORED_NEGATIONS and low not in intent.avoided and len(low.split()) <= MAX_TOPIC_WORDS:
                intent.avoided.append(low)
        positive = _kind_words(_REQUEST.sub(" ", positive), intent)
        private = _PRIVATE.search(positive)
        shareable = positive[: private.start()] if private else positive
        for phrase in _phrases(shareable):
            wanted.append(phrase)
            public.extend(w for w in _WORD.findall(phrase) if w.lower() not in _STOP and len(w) > 1)

    intent.wanted = list(dict.fromkeys(wanted))
    intent.mood = next((w.lower() for p in intent.wanted for w in p.split() if w.lower() in MOODS), "")
    intent.public_query = " ".join(dict.fromkeys(public))
    return intent


def parse_instruction(text: str) -> Intent:
    """Read a free-text instruction into an Intent; works with no language model."""
    clean = clean_text(text, 1000)
    parsed = _parse(clean)
    # A fresh copy each call: callers may merge or edit the Intent they get.
    return Intent(**{**parsed.to_dict(), "wanted": list(parsed.wanted), "avoided": list(parsed.avoided),
                     "exclude_creators": list(parsed.exclude_creators)})


def positive_text(intent: Intent) -> str:
    """What the user asked for, minus what they asked to avoid: the text the instruction
    signal is measured against (embedding "no horror" would pull horror up)."""
    if not intent.raw:
        return ""
    work = _limits(intent.raw, Intent())
    work = _CREATOR_EXCLUSION.sub(" , ", work)
    kept = []
    prose = descriptive(work)
    for clause in _CLAUSE.split(work):
        if not clause or not clause.strip():
            continue
        neg = _negation(clause, prose)
        part = _REQUEST.sub(" ", clause[: neg.start()] if neg else clause)
        part = _trim(" ".join(part.split()).strip(" ,"))
        if part:
            kept.append(part)
    return ", ".join(kept)
