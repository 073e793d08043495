"""What an item's metadata can prove: genres, year, running time, public popularity.

Platforms name these fields differently; the lookups here know the common spellings so
the rest of the pipeline asks one question ("what genres does it have?") once.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from shieldrec.items import Item

_GENRE_KEYS = ("genres", "genre", "categories", "category", "tags", "subjects", "class", "classes", "shelves")
_YEAR_KEYS = ("year", "release_year", "published_year", "publication_year", "original_publication_year",
              "release_date", "published", "date", "first_aired")
_MINUTE_KEYS = ("runtime_minutes", "runtime", "duration_minutes", "length_minutes", "minutes", "running_time")
_SECOND_KEYS = ("duration_seconds", "duration_s", "length_seconds", "duration")
_COUNT_KEYS = ("rating_count", "ratings_count", "votes", "vote_count", "num_ratings", "review_count",
               "reviews_count", "work_ratings_count", "play_count", "plays", "views", "listeners", "popularity")
_GENRE_SET = frozenset(_GENRE_KEYS)
_YEAR_SET = frozenset(_YEAR_KEYS)
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d|2100)\b")
_WORD = re.compile(r"[^\W_]+")

# How people name a kind of thing vs. how catalogues tag it ("scary" finds "Horror").
ALIASES: dict[str, tuple[str, ...]] = {
    "scary": ("horror",), "spooky": ("horror",), "frightening": ("horror",), "creepy": ("horror",),
    "horror": ("horror",), "horrors": ("horror",), "gore": ("gore", "splatter", "slasher"),
    "gory": ("gore", "splatter", "slasher"), "slasher": ("slasher",), "zombie": ("zombie",), "zombies": ("zombie",),
    "violent": ("violence",), "violence": ("violence",), "funny": ("comedy",), "comedies": ("comedy",),
    "romantic": ("romance",), "romcom": ("romantic comedy",), "rom-com": ("romantic comedy",),
    "animated": ("animation",), "cartoon": ("animation",), "cartoons": ("animation",), "anime": ("anime",),
    "sci-fi": ("science fiction",), "scifi": ("science fiction",), "sf": ("science fiction",),
    "documentaries": ("documentary",), "kids": ("children", "family"), "children": ("children", "family"),
    "family": ("family",), "musicals": ("musical",), "westerns": ("western",), "thrillers": ("thriller",),
    "war": ("war",), "crime": ("crime",), "mystery": ("mystery",), "mysteries": ("mystery",),
    "fantasy": ("fantasy",), "sad": ("tragedy",), "tragic": ("tragedy",),
}


# Words too general to prove a genre alone ("film" is in "Family Film", "and" in "Black-and-white").
_GENERIC = frozenset({"film", "films", "movie", "movies", "story", "stories", "book", "books", "show", "shows",
                      "series", "novel", "novels", "fiction", "tale", "tales", "something", "about", "with",
                      "and", "the", "for", "from", "into", "its", "but", "not", "all", "any", "new", "old", "who"})


def _words(text: str) -> tuple[str, ...]:
    out = []
    for w in _WORD.findall(text.lower()):
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]  # a crude plural fold: "thrillers" is tagged "Thriller"
        out.append(w)
    return tuple(out)


@lru_cache(maxsize=8192)
def term_words(term: str) -> tuple[tuple[str, ...], ...]:
    """The word sequences that stand for `term` in genre tags (itself plus its aliases)."""
    key = term.strip().lower()
    seqs = [_words(key), *(_words(a) for a in ALIASES.get(key, ()))]
    return tuple(dict.fromkeys(s for s in seqs if s))


def _contains(hay: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    n = len(needle)
    return any(hay[i : i + n] == needle for i in range(len(hay) - n + 1))


@lru_cache(maxsize=16384)
def _split(value: str) -> tuple[str, ...]:
    # "Drama, Romance" and "Drama|Romance" both occur; "Animation Children's Comedy"
    # (space-separated) stays one tag, and word matching still finds "comedy" in it.
    return tuple(p for p in re.split(r"\s*[,;|/]\s*", value.strip()) if p)


def _flatten(value: Any) -> list[str]:
    if isinstance(value, str):
        return list(_split(value))
    if isinstance(value, (list, tuple)):
        out: list[str] = []
        for v in value:
            out.extend(_split(v) if isinstance(v, str) else _flatten(v))
        return out
    if isinstance(value, dict):
        name = value.get("name") or value.get("tag") or value.get("title")
        return _flatten(name) if name else []
    return []


def genres(item: Item) -> tuple[str, ...]:
    """The item's genre/topic tags as the platform sent them (empty when it sent none)."""
    meta = item.meta
    if not meta:
        return ()
    present = _GENRE_SET.intersection(meta)
    if not present:
        return ()
    out: list[str] = []
    for key in _GENRE_KEYS:
        if key in present:
            out.extend(_flatten(meta[key]))
    return tuple(dict.fromkeys(out))


@lru_cache(maxsize=16384)
def _genre_words(tags: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(_words(t) for t in tags)


@lru_cache(maxsize=65536)
def genre_match(term: str, tags: tuple[str, ...]) -> str:
    """The tag that proves `term` ("horror" in "Natural horror films"), or ""."""
    if not tags:
        return ""
    needles = term_words(term)
    for tag, words in zip(tags, _genre_words(tags)):
        if any(_contains(words, n) for n in needles):
            return tag
    return ""


@lru_cache(maxsize=65536)
def genre_match_any(phrase: str, tags: tuple[str, ...]) -> str:
    """Like `genre_match`, but any single word of `phrase` may prove it ("funny comedy" finds
    "Comedy"). For what the user wants; what they exclude must match as a whole."""
    if not tags:
        return ""
    found = genre_match(phrase, tags)
    if found:
        return found
    for word in phrase.split():
        if len(word) > 2 and word.lower() not in _GENERIC and (found := genre_match(word, tags)):
            return found
    return ""


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        m = re.search(r"\d+(?:\.\d+)?", value.replace(",", ""))
        return float(m.group(0)) if m else None
    return None


def year(item: Item) -> int | None:
    meta = item.meta
    present = _YEAR_SET.intersection(meta) if meta else ()
    if not present:
        return None
    for key in _YEAR_KEYS:
        if key not in present:
            continue
        value = meta[key]
        if value is None:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 1500 <= value <= 2100:
            return int(value)
        if isinstance(value, str):
            m = _YEAR.search(value)
            if m:
                return int(m.group(1))
    return None


def runtime_minutes(item: Item) -> float | None:
    meta = item.meta
    if not meta:
        return None
    for key in _MINUTE_KEYS:
        n = _number(meta.get(key))
        if n is not None and n > 0:
            return n
    for key in _SECOND_KEYS:
        n = _number(meta.get(key))
        if n is not None and n > 0:
            return n / 60.0
    return None


def popularity_count(item: Item) -> float | None:
    """A public count of ratings/votes/plays when the platform sent one (top level or under 'stats')."""
    meta = item.meta
    if not meta:
        return None
    for where in (meta, meta.get("stats"), meta.get("statistics")):
        if not isinstance(where, dict):
            continue
        for key in _COUNT_KEYS:
            if key in where and (n := _number(where[key])) is not None and n >= 0:
                return n
    return None
