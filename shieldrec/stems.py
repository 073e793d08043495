"""A crude English word fold, shared by the ranking's evidence and the demo platform's search.

"robots", "robotic" -> "robot"; "animated", "animation" -> "anim". Standard library only: the
demo platform imports it and must start fast.
"""

from __future__ import annotations

from functools import lru_cache

_SUFFIXES = ("ations", "ation", "ated", "ates", "ate", "ically", "ical", "ics", "ic", "ings", "ing", "ness",
             "ful", "ers", "er", "ed", "es", "s")
MIN_STEM = 4  # shorter stems fold unrelated words together ("cars" and "care")


@lru_cache(maxsize=65536)  # the same words recur in every request; folding them showed in profiles
def stem(word: str) -> str:
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= MIN_STEM:
            return w[: -len(suffix)]
    return w
