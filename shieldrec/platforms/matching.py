"""Choosing from a local source (a file, a downloaded feed): the query is matched here, not sent."""

from __future__ import annotations

import re

from shieldrec.items import Item
from shieldrec.platforms.base import Query

_WORD = re.compile(r"\w+")


def _words(text: str) -> set[str]:
    out = set()
    for w in _WORD.findall(text.casefold()):
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def pick(items: list[Item], query: Query) -> list[Item]:
    """Items sharing words with the query first (title words count double), then the rest in
    source order, up to the query's limit. Only the order changes: the ranker decides."""
    wanted = _words(query.text)
    if not wanted:
        return items[: query.limit]
    scored = []
    for position, item in enumerate(items):
        score = 2 * len(wanted & _words(item.title + " " + item.creator)) + len(wanted & _words(item.text))
        scored.append((-score, position, item))
    scored.sort(key=lambda t: (t[0], t[1]))
    return [item for _, _, item in scored[: query.limit]]
