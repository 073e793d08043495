"""Rare words shared with liked history: names, series, franchises, platforms.

Embeddings blur proper names ("Trek" and "Wars" sit close together); a shared rare word
in a title or creator is sharper evidence: the next book in a series, another film by
the same director. Rarity is measured over this request's own candidates and history.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from shieldrec.items import Item
from shieldrec.ranking.contribution import Contribution
from shieldrec.ranking.filters import norm, phrase_in
from shieldrec.ranking.taste import Taste, phrase

SATURATION = 4.0  # idf units: one word found in a single candidate and one liked item is nearly full strength
_NAME_KEYS = ("series", "collection", "franchise", "author", "authors", "director", "directors", "cast",
              "publisher", "network", "channel", "studio", "show", "podcast", "creator", "creators")
_NAME_SET = frozenset(_NAME_KEYS)
_WORD = re.compile(r"[^\W\d_][^\W_]*(?:['’][^\W\d_]+)?")
_COMMON = frozenset(
    """the and for with from into onto about after before over under this that these those his her their its
    our your you are was were been being have has had not but all any one two three four five part vol volume
    book books movie film films series season episode episodes edition collection story stories tale tales
    new old life love man men woman women day days night nights world time times home house city little big
    great last first second third final return returns rise fall king queen dark light death live
    game games show podcast chapter volume complete official presents"""
    .split()
)


@lru_cache(maxsize=32768)
def tokens(text: str) -> frozenset[str]:
    return frozenset(w for w in (m.lower().replace("’", "'") for m in _WORD.findall(text))
                     if len(w) > 2 and w not in _COMMON)


def _names(item: Item) -> frozenset[str]:
    parts = [item.title, item.creator, item.source]
    meta = item.meta
    present = _NAME_SET.intersection(meta) if meta else ()
    if present:
        for key in _NAME_KEYS:
            value = meta.get(key)
            if isinstance(value, str):
                parts.append(value)
            elif isinstance(value, list):
                parts.extend(v for v in value[:10] if isinstance(v, str))
    return tokens(" | ".join(p for p in parts if p))


def _rarity(df: int, total: int) -> float:
    """idf, floored at 1 for any word in at most a quarter of the documents: a request of five
    candidates has too few documents to tell a rare word from a common one by counting."""
    if df > max(2, total // 4):
        return 0.0
    return max(math.log((total + 1) / (df + 0.5)), 1.0)


def _same_creator(item: Item, taste: Taste, weights: np.ndarray) -> int:
    """The most weighty liked item by the same creator, or -1."""
    if not item.creator:
        return -1
    mine = norm(item.creator)
    best, best_w = -1, 0.0
    for i, ev in enumerate(taste.liked):
        theirs = ev.item.creator
        if theirs and weights[i] > best_w and (norm(theirs) == mine or phrase_in(theirs, item.creator)):
            best, best_w = i, float(weights[i])
    return best


def lexical_signal(items: Sequence[Item], taste: Taste) -> Contribution:
    n = len(items)
    if not taste.liked:
        return Contribution.zeros(n)
    cand = [_names(it) for it in items]
    liked = [_names(ev.item) for ev in taste.liked]
    df: Counter[str] = Counter()
    for toks in (*cand, *liked):
        df.update(toks)
    total = len(cand) + len(liked)
    liked_words = frozenset().union(*liked)
    w = taste.liked_weight / taste.liked_weight.max()
    values = np.zeros(n, dtype=np.float32)
    reasons = [""] * n
    for j, toks in enumerate(cand):
        # The same author or director is the sharpest evidence there is, however small the request.
        same = _same_creator(items[j], taste, w)
        if same >= 0:
            ev = taste.liked[same]
            values[j] = float(w[same])
            reasons[j] = f"by {items[j].creator}, like '{ev.item.title}', {phrase(ev)}"
            continue
        shared_any = toks & liked_words
        if not shared_any:
            continue
        best, best_i, best_words = 0.0, -1, ()
        for i, ltoks in enumerate(liked):
            shared = toks & ltoks
            if not shared:
                continue
            score = w[i] * sum(_rarity(df[t], total) for t in shared)
            if score > best:
                best, best_i, best_words = score, i, tuple(sorted(shared, key=lambda t: df[t]))
        if best_i >= 0:
            values[j] = min(1.0, best / SATURATION)
            ev = taste.liked[best_i]
            words = " ".join(f"'{t}'" for t in best_words[:2])
            reasons[j] = f"shares {words} with '{ev.item.title}', {phrase(ev)}"
    return Contribution(values, reasons)
