"""What an item's own words can prove: words in its description, content it warns of, its audience.

Every reason that names a quality of an item ("tagged Animation", "its description mentions
'robotic'") is built from a lookup here, so a reason is said only when the item's metadata
holds its evidence. An item with no tags and no description of its own is *thin*: nothing
about it can be judged beyond its title, creator and year, and its reasons say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from shieldrec.items import Item
from shieldrec.ranking import facts
from shieldrec.stems import stem

THIN_WORDS = 12  # fewer description words than this (title and creator aside) cannot describe an item
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_NEGATORS = frozenset({"no", "not", "never", "without", "nor", "non", "nothing", "none", "isn't", "aren't",
                       "wasn't", "isn’t", "hardly", "free", "instead"})
# Too common to be evidence of anything a user asks for.
_PLAIN = frozenset(
    """about after again also another any around away back been before being between both came come could
    does down each even ever every find first from gets give goes going good great have here into just know
    last life like little long look made make many more most much must need never new next night only other
    over people really same should some something story still such take than that their them then there these
    they thing things this those through time together very want well were what when where which while will
    with world would year years your film movie book novel series show""".split()
)


@lru_cache(maxsize=16384)
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(w.lower() for w in _WORD.findall(text))


@lru_cache(maxsize=16384)
def _own_count(text: str, title: str, creator: str) -> int:
    words = _tokens(text)
    if not words:
        return 0
    echo = set(_tokens(title)) | set(_tokens(creator))
    return sum(1 for w in words if w not in echo)


def is_thin(item: Item, tags: tuple[str, ...] | None = None) -> bool:
    """Whether the item carries too little to judge what it is about: no tags, and fewer than
    THIN_WORDS words of description beyond its own title and creator."""
    tags = facts.genres(item) if tags is None else tags
    return not tags and _own_count(item.text, item.title, item.creator) < THIN_WORDS


@lru_cache(maxsize=16384)
def _stems(text: str) -> tuple[tuple[str, str, bool], ...]:
    """(stem, word as written, negated) for each word of `text`."""
    words = _WORD.findall(text)
    out = []
    for i, w in enumerate(words):
        before = {x.lower() for x in words[max(0, i - 2): i]}
        out.append((stem(w), w, bool(before & _NEGATORS)))
    return tuple(out)


@lru_cache(maxsize=4096)
def content_words(phrase: str) -> tuple[str, ...]:
    """The stems of `phrase` that can be looked for in a description (not filler, not tiny)."""
    return tuple(dict.fromkeys(stem(w) for w in _tokens(phrase) if len(w) > 3 and w not in _PLAIN))


@lru_cache(maxsize=65536)
def mentions(text: str, phrase: str) -> str:
    """A word of `text` (as written) that says a content word of `phrase`, not negated; or ""."""
    wanted = set(content_words(phrase))
    if not wanted or not text:
        return ""
    for s, written, negated in _stems(text):
        if s in wanted and not negated:
            return written
    return ""


# Content people ask to be spared, how catalogues tag it, and the words that show it in a plot.
@dataclass(frozen=True)
class Content:
    name: str  # how a reason names it ("violence")
    triggers: frozenset[str]  # words in a request or a preference that mean it
    tags: tuple[str, ...]  # tag words that prove it (matched as whole words in a tag)
    words: frozenset[str]  # description words (stems) that show it
    needed: int = 2  # distinct description words needed: one "murder" does not make a film violent


CONTENT: tuple[Content, ...] = (
    Content(  # before "violence": "gory violence" asks to be spared the gore, not every fight
        "gore",
        frozenset({"gore", "gory", "bloody", "gruesome", "splatter", "grisly"}),
        ("slasher", "splatter", "gore"),
        frozenset(stem(w) for w in """gore gory gruesome grisly dismembered dismemberment mutilated mutilation
            mutilates decapitated decapitation beheaded disembowelled disemboweled entrails bloodbath cannibal
            cannibals cannibalism eviscerated""".split()),
    ),
    Content(
        "violence",
        frozenset({"violent", "violence", "brutal", "brutality", "fighting", "fights", "killing"}),
        ("slasher", "splatter", "gore", "war film", "combat", "martial arts", "gangster", "zombie", "exploitation",
         "violence"),
        frozenset(stem(w) for w in """massacre massacred slaughter slaughtered murder murders murdered murderer
            murderous torture tortured torturing butcher butchered behead beheaded decapitated mutilated mutilation
            gunfight shootout bloodbath bloodshed stabbed stabbing stabs strangled strangles dismembered
            rampage killing killings kills killed slays slain execution executed assassinate assassinated gore
            brutally brutal violent violence carnage""".split()),
        needed=3,  # a plot summary says "killed" of many a family film
    ),
    Content(
        "horror",
        frozenset({"horror", "horrors", "scary", "spooky", "creepy", "frightening", "terrifying"}),
        ("horror", "slasher", "splatter", "zombie", "haunted", "supernatural horror", "monster", "creature film",
         "werewolf", "giallo", "psycho-biddy", "demonic"),
        frozenset(stem(w) for w in """haunted haunting haunts demon demons demonic possessed possession zombie
            zombies vampire vampires werewolf ghoul poltergeist exorcism exorcist slasher undead terrorizes
            terrorised terrorized""".split()),
    ),
    Content(
        "sex",
        frozenset({"sex", "sexual", "sexy", "erotic", "explicit", "nudity", "steamy", "smut"}),
        ("erotic", "sex comedy", "softcore", "pornograph", "sexploitation"),
        frozenset(stem(w) for w in "erotic sexual seduces seduction prostitute prostitution stripper nude nudity".split()),
    ),
)


VIOLENCE = CONTENT[1]


@lru_cache(maxsize=4096)
def content_for(term: str) -> Content | None:
    """The content kind a user's phrase names ("nothing violent", "gory violence"), if any."""
    words = set(_tokens(term))
    for c in CONTENT:
        if words & c.triggers:
            return c
    return None


@lru_cache(maxsize=65536)
def _tag_with(tags: tuple[str, ...], needles: tuple[str, ...]) -> str:
    for tag in tags:
        low = f" {' '.join(_tokens(tag))} "
        if any(f" {' '.join(_tokens(n))}" in low for n in needles):
            return tag
    return ""


def content_evidence(item: Item, tags: tuple[str, ...], content: Content) -> str:
    """Why the item shows `content`, in words ("tagged Slasher", "its description mentions 'massacre',
    'tortured'"), or "" when its metadata does not show it."""
    return _content_evidence(item.text, tags, content)


@lru_cache(maxsize=65536)
def _content_evidence(text: str, tags: tuple[str, ...], content: Content) -> str:
    tag = _tag_with(tags, content.tags)
    if tag:
        return f"tagged {tag}"
    found: dict[str, str] = {}
    for s, written, negated in _stems(text):
        if s in content.words and not negated and s not in found:
            found[s] = written.lower()
    if len(found) >= content.needed:
        return "its description mentions " + ", ".join(f"'{w}'" for w in list(found.values())[:3])
    return ""


def term_evidence(item: Item, tags: tuple[str, ...], term: str) -> str:
    """Evidence that the item is what `term` names: a tag (with the usual aliases), or the content
    words of a known kind of content. "" when the metadata cannot show it."""
    tag = facts.genre_match(term, tags)
    if tag:
        return f"tagged {tag}"
    content = content_for(term)
    return content_evidence(item, tags, content) if content is not None else ""


def checkable(term: str) -> bool:
    """Whether anything beyond tags can prove `term` (a known kind of content)."""
    return content_for(term) is not None


# -- audience ----------------------------------------------------------------------------------

_RATING_KEYS = ("certification", "mpaa", "mpaa_rating", "content_rating", "age_rating", "rated", "parental_rating",
                "min_age", "minimum_age", "age")
_RATINGS = {
    "g": 0, "tv-y": 0, "tv-y7": 7, "tv-g": 0, "u": 0, "pg": 8, "tv-pg": 10, "12": 12, "12a": 12, "pg-13": 13,
    "tv-14": 14, "15": 15, "r": 17, "tv-ma": 17, "16": 16, "18": 18, "nc-17": 18, "x": 18, "fsk 0": 0,
    "fsk 6": 6, "fsk 12": 12, "fsk 16": 16, "fsk 18": 18, "all ages": 0, "e": 0,
}
# Tags that say an item was made for children and families (the catalogue's own word for it).
CHILDREN_TAGS = ("children", "family", "kids", "middle grade", "picture book", "juvenile")
# Tags that say it was not: the age they suggest at the least.
ADULT_TAGS: tuple[tuple[str, int], ...] = (
    ("erotic", 18), ("sex comedy", 16), ("exploitation", 18), ("slasher", 17), ("splatter", 17), ("gore", 17),
    ("horror", 15), ("zombie", 15), ("giallo", 17), ("psycho-biddy", 15), ("crime thriller", 15),
    ("psychological thriller", 15), ("erotic thriller", 18), ("gangster", 15), ("war film", 13),
    ("combat", 13), ("film noir", 13), ("neo-noir", 15), ("adult", 18), ("stoner", 16), ("addiction", 15),
    ("blaxploitation", 16), ("gross-out", 13), ("gross out", 13), ("black comedy", 13), ("heist", 13),
)


@dataclass(frozen=True)
class Audience:
    """What the metadata says about who an item is for."""

    min_age: int | None  # the youngest age it suits, when something says so
    evidence: str  # in words: "rated PG-13", "tagged Family Film", "tagged Slasher"


def _rating(item: Item) -> Audience | None:
    for key in _RATING_KEYS:
        value = item.meta.get(key) if item.meta else None
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)) and key in ("min_age", "minimum_age", "age") and 0 <= value <= 21:
            return Audience(int(value), f"for ages {int(value)}+")
        if isinstance(value, str):
            code = " ".join(value.strip().lower().replace("rated ", "").split())
            if code in _RATINGS:
                return Audience(_RATINGS[code], f"rated {value.strip()}")
    return None


def audience(item: Item, tags: tuple[str, ...]) -> Audience:
    """The youngest age the item suits as far as its metadata tells, and what tells it."""
    rated = _rating(item)
    if rated is not None:
        return rated
    worst = 0, ""
    for needle, age in ADULT_TAGS:
        tag = _tag_with(tags, (needle,))
        if tag and age > worst[0]:
            worst = age, tag
    if worst[1]:
        return Audience(worst[0], f"tagged {worst[1]}")
    kids = _tag_with(tags, CHILDREN_TAGS)
    if kids:  # the catalogue's word outweighs a plot summary's ("Mufasa is killed")
        return Audience(0, f"tagged {kids}")
    violent = content_evidence(item, tags, VIOLENCE)
    if violent:
        return Audience(13, violent)
    return Audience(None, "")
