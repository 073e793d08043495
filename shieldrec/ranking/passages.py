"""A description's match, counted only as far as no single passage carries it.

A platform that may edit an item's description can choose words that move the item's
embedding toward what the user likes (the adaptive attacks of the attack suite: words
picked against ShieldRec's own model, appended, written as a sentence, or put in place
of words of the plot). Whatever the words, they sit somewhere. So a described item is
also read as its title and tags alone (when it has tags: a bare title is no judge of
a description), and with each of PARTS equal passages of its description left out. Each
view is pooled from the tokens of the pass that encodes the whole text (Embedder.views),
so the check costs no second pass through the model: a fresh answer takes about as long
with it as without (scripts/bench_fresh_answer.py). An
honest description's topic runs through it: leaving one passage out barely moves it, and
MiniLM's cosines rise a little for shorter texts. Words planted to please the ranker make
the whole text closer to the user than some view without them: that excess is the
"pull", and it counts against the item (MIRROR), so planted words that raise a
similarity by x lower it by MIRROR * x instead.

Words spread thinly through every passage are in every view, and still buy places (the
attack suite's "adaptive, spread out" family; SECURITY.md, known limits).

Only similarities toward what the user wants (the request, liked history, stated likes)
are read this way; closeness to what they avoid or dislike is read from the whole text,
so leaving words out can never hide an item from an avoid.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from shieldrec.ranking.embedder import Keep

PARTS = 4
MIN_WORDS = 24  # a shorter description is compared with the title and tags only
MIRROR = 0.5  # the least at which the suite's six adaptive attacks gain nothing (0.25: one does); cost: README
# A view pooled from its whole text's pass sits about 2.5 times nearer the whole than the same
# words encoded alone (scripts/bench_fresh_answer.py measures it); the attack suite, per gain, with
# the default pipeline (attacked items that gained places, of 49): 2: 6, 3: 4, 4: 1 (encoded views: 3).
# Cost on honest described films (eval suite, default ranker): ML-100K 0.246 vs 0.244, ml-latest-small
# 0.265 vs 0.294 NDCG@10 (within the cells' intervals).
GAIN = 4.0
NOTE_PULL = 0.06  # cosine: a pull this large toward the request is said out loud (honest films: up to 0.054)


def views(text: str, tagged: bool = True) -> list[str]:
    """The description's views in words: "" (the title and tags alone; only when `tagged`),
    then, for a description of MIN_WORDS words or more, the description without each of its
    PARTS passages (cut at word boundaries, in equal shares of words). `view_keeps` says the
    same as character ranges, which is what is embedded."""
    if not text.strip():
        return []
    head = [""] if tagged else []
    return [*head, *(" ".join(f"{text[:a]} {text[b:]}".split()) for a, b in _passages(text))]


def _passages(text: str) -> list[tuple[int, int]]:
    """The character span of each of PARTS passages of `text` (equal shares of its words, cut
    at word boundaries, as `views` cuts them), or none for a description under MIN_WORDS."""
    words = [m.span() for m in re.finditer(r"\S+", text)]
    if len(words) < MIN_WORDS:
        return []
    cuts = [round(k * len(words) / PARTS) for k in range(PARTS + 1)]
    return [(words[cuts[k]][0], words[cuts[k + 1] - 1][1]) for k in range(PARTS)]


@lru_cache(maxsize=16384)
def view_keeps(head: str, text: str) -> tuple[Keep, ...]:
    """What each view without a passage keeps of the item's embedded text `f"{head}. {text}"`
    (semantic.item_text; pass the text as far as the model reads it), as character ranges:
    everything but that passage. The embedder pools each from the text's own pass
    (Embedder.views). Cached: a warm request computes no spans."""
    end = len(head) + 2 + len(text)
    base = len(head) + 2
    return tuple(((0, base + a), (base + b, end)) for a, b in _passages(text))


def head_view(head: str, text: str, tagged: bool) -> str | None:
    """The text of the view "title and tags alone", when the item has one: a description to
    compare it with, and tags (a bare title is no judge of a description). It is encoded as a
    text of its own: short, and pooled from the whole it would read the description too."""
    return head if tagged and text.strip() else None


@dataclass(frozen=True)
class CandidateVectors:
    """The candidates' vectors: each whole text (`full`, one row per candidate), and each of
    its views (`views[k]`, the same shape; a candidate with fewer views repeats `full`)."""

    full: np.ndarray
    views: np.ndarray | None = None  # (number of views, candidates, dim); None or 0 views: nothing described

    @classmethod
    def of(cls, full: np.ndarray, per_item: Sequence[np.ndarray]) -> CandidateVectors:
        """`per_item[j]`: candidate j's view vectors (0 rows when it has none)."""
        depth = max((len(v) for v in per_item), default=0)
        stack = np.repeat(full[None, :, :], depth, axis=0) if depth else np.zeros((0, *full.shape), full.dtype)
        for j, v in enumerate(per_item):
            stack[: len(v), j] = v
        return cls(full, stack)

    @classmethod
    def read(cls, full: np.ndarray, heads: Sequence[np.ndarray | None], pooled: Sequence[np.ndarray]
             ) -> CandidateVectors:
        """As the pipeline reads the candidates: for candidate j, its head's vector `heads[j]`
        (encoded alone, if it has one), then its passage views `pooled[j]` (Embedder.views), each
        moved GAIN times as far from its whole text (the words left out still colour the tokens
        kept, so a pooled view sits nearer its whole than the same words encoded alone)."""
        n, dim = full.shape
        counts = [len(v) for v in pooled]
        first = [int(h is not None) for h in heads]  # where a candidate's passage views start
        depth = max((c + f for c, f in zip(counts, first)), default=0)
        stack = np.repeat(full[None, :, :], depth, axis=0)
        for j, h in enumerate(heads):
            if h is not None:
                stack[0, j] = h
        rows = [j for j, c in enumerate(counts) if c]
        if rows:
            owner = np.repeat(rows, [counts[j] for j in rows])
            far = full[owner] + GAIN * (np.concatenate([pooled[j] for j in rows]) - full[owner])
            far /= np.maximum(np.linalg.norm(far, axis=1, keepdims=True), 1e-12)
            place = np.concatenate([np.arange(counts[j]) + first[j] for j in rows])
            stack[place, owner] = far
        return cls(full, stack)

    def _whole_and_pull(self, goals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        whole = self.full @ goals
        if self.views is None or not len(self.views):
            return whole, np.zeros_like(whole)
        return whole, np.maximum(whole - np.min(self.views @ goals, axis=0), 0.0)

    def pull(self, goals: np.ndarray) -> np.ndarray:
        """Per candidate (and goal): how much closer the whole text is to `goals` than its
        farthest view, or 0. `goals` as the right side of `full @ goals`."""
        return self._whole_and_pull(goals)[1]

    def toward(self, goals: np.ndarray) -> np.ndarray:
        """Similarity to what the user wants: `full @ goals`, less (1 + MIRROR) times the pull."""
        whole, pull = self._whole_and_pull(goals)
        return whole - (1.0 + MIRROR) * pull
