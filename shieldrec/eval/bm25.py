"""Okapi BM25 (k1 = 1.2, b = 0.75), exact and small: a word-matching baseline for the suite.

Documents are a candidate's title, creator, tags and description; the query is the
instruction, or, when there is none, the titles and descriptions of what the user liked.
Term statistics come from the request's own candidates, as a re-ranker sees them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from shieldrec.ranking import facts
from shieldrec.items import Item

K1, B = 1.2, 0.75
_WORD = re.compile(r"[^\W_]+")
_STOP = frozenset(
    """a an and are as at be but by for from has have in into is it its of on or that the their this to was were
    with without not no""".split()
)


def terms(text: str) -> list[str]:
    out = []
    for w in _WORD.findall(text.lower()):
        if w in _STOP or len(w) < 2:
            continue
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


def document(item: Item) -> str:
    return " ".join((item.title, item.creator, " ".join(facts.genres(item)), item.text))


def scores(query: Sequence[str], docs: Sequence[Sequence[str]]) -> list[float]:
    n = len(docs)
    if not n or not query:
        return [0.0] * n
    avg = sum(len(d) for d in docs) / n or 1.0
    df: Counter[str] = Counter()
    for d in docs:
        df.update(set(d))
    wanted = Counter(query)
    out = []
    for d in docs:
        tf = Counter(d)
        norm = K1 * (1 - B + B * len(d) / avg)
        total = 0.0
        for term, qtf in wanted.items():
            f = tf.get(term, 0)
            if f:
                idf = math.log((n - df[term] + 0.5) / (df[term] + 0.5) + 1.0)
                total += qtf * idf * f * (K1 + 1) / (f + norm)
        out.append(total)
    return out
