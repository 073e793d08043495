"""A description's match, counted only as far as no single passage carries it.

A platform that may edit an item's description can choose words that move the item's
embedding toward what the user likes (the adaptive attacks of the attack suite: words
picked against ShieldRec's own model, appended, written as a sentence, or put in place
of words of the plot). Whatever the words, they sit somewhere. So a described item is
also embedded as its title and tags alone (when it has tags: a bare title is no judge of
a description), and with each of PARTS equal passages of its description left out. An
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

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

PARTS = 4
MIN_WORDS = 24  # a shorter description is compared with the title and tags only
MIRROR = 0.5  # the least at which the suite's six adaptive attacks gain nothing (0.25: one does); cost: README
NOTE_PULL = 0.06  # cosine: a pull this large toward the request is said out loud (honest films: up to 0.054)


def views(text: str, tagged: bool = True) -> list[str]:
    """The description's views to compare the whole with: "" (the title and tags alone; only
    when `tagged`), then, for a description of MIN_WORDS words or more, the description without
    each of its PARTS passages (cut at word boundaries, in equal shares of words)."""
    if not text.strip():
        return []
    head = [""] if tagged else []
    words = text.split()
    if len(words) < MIN_WORDS:
        return head
    cuts = [round(k * len(words) / PARTS) for k in range(PARTS + 1)]
    return [*head, *(" ".join(words[: cuts[k]] + words[cuts[k + 1]:]) for k in range(PARTS))]


@lru_cache(maxsize=16384)
def view_texts(head: str, text: str, tagged: bool) -> tuple[str, ...]:
    """What each view of an item is embedded as: `head` (its title and tags, as
    semantic.item_text writes them) alone, or followed by `text` less one passage. Pass the
    text as far as the model reads it. Cached: a warm request builds no strings."""
    return tuple(f"{head}. {t}" if t else head for t in views(text, tagged))


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
