"""Text written to please the ranker rather than to describe the item.

Repeated words, a list of the user's own interest words, a title that floods the screen:
an honest description has no use for them, and every ranker that reads text (embeddings,
word matches, a language model) is pulled by them. Two defences, both at the scoring view
an item is ranked by: the view is de-stuffed (a phrase said again and again is said once,
no interest word counts more than `WORD_CAP` times, keyword lists are cut, the title is capped), so
stuffing below the detector's thresholds has little to gain; and an item whose text is
stuffing past them is named, so the pipeline labels it and ranks it after every honest item.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache

from shieldrec.items import Item
from shieldrec.stems import stem

TITLE_WORDS = 24  # the scoring view reads no more of a title than this
FLOOD_WORDS = 32  # a title longer than this is built to push the others off the screen
FLOOD_CHARS = 220
WORD_CAP = 3  # occurrences of one word the scoring view keeps
REPEAT_TIMES = 3  # a phrase said this many times in a row is stuffing
LIST_WORDS = 5  # a stretch of this many words without a function word, mostly interest words, is a list
LIST_SHARE = 0.5
FREQ_COUNT, FREQ_SHARE = 4, 0.2  # one word this often and this large a share of the words

_TOKEN = re.compile(r"#?[^\W_][^\W_'’-]*(?:['’-][^\W_]+)*")
_SENTENCE_END = re.compile(r"[.!?;:\n]")
_LEFTOVER = re.compile(r"(?:[^\S\n]*[,;/|#][^\S\n]*){2,}")  # the commas of a list cut out
FUNCTION_WORDS = frozenset(
    """a an the and or but nor of in on at to for from by with about into onto over under after before
    between through during without within as than then that this these those who whom whose which what
    when where while why how is are was were be been being am has have had do does did will would shall
    should can could may might must not no it its his her their our your my he she they we you i me him
    them us so if because though although until unless since once there here all any each every some
    one two three four five more most much many other such very just also only even still yet again""".split()
)


def _words(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _TOKEN.finditer(text)]


def _content(word: str) -> bool:
    w = word.lower().lstrip("#")
    return len(w) > 2 and w not in FUNCTION_WORDS


def _repeats(words: list[str]) -> list[tuple[int, int, int]]:
    """(start, phrase length, times) of each phrase of 1-4 words said REPEAT_TIMES+ times in a row."""
    low = [w.lower() for w in words]
    out, i = [], 0
    while i < len(low):
        best = None
        for n in range(1, 5):
            times = 1
            while low[i + times * n: i + (times + 1) * n] == low[i: i + n] and i + (times + 1) * n <= len(low):
                times += 1
            if times >= REPEAT_TIMES and (best is None or times * n > best[1] * best[2]):
                best = (i, n, times)
        if best:
            out.append(best)
            i += best[1] * best[2]
        else:
            i += 1
    return out


def _runs(text: str, words: list[str]) -> tuple[tuple[int, int], ...]:
    """(start, end) of each stretch of LIST_WORDS+ words with no function word or sentence end
    among them."""
    spans = _spans(text)

    def stop_before(i: int) -> bool:  # a sentence ends between word i-1 and word i
        return i == 0 or i == len(words) or bool(_SENTENCE_END.search(text[spans[i - 1][1]:spans[i][0]]))

    out, start = [], 0
    for i in range(len(words) + 1):
        at_end = i < len(words) and i > start and stop_before(i)
        if not (i == len(words) or words[i].lower() in FUNCTION_WORDS or at_end):
            continue
        if i - start >= LIST_WORDS:
            out.append((start, i))
        start = i if at_end else i + 1
    return tuple(out)


@dataclass(frozen=True)
class _Shape:
    """What a text's own words show, whoever reads it (cached by text: the per-request part,
    which words are the user's interests, is then a few look-ups)."""

    words: tuple[str, ...]
    stems: tuple[str, ...]  # of each word, as interests are stemmed
    repeats: tuple[tuple[int, int, int], ...]
    runs: tuple[tuple[int, int], ...]
    often: tuple[tuple[str, int, tuple[int, ...]], ...]  # (stem, count, indices) of words said > WORD_CAP times
    total: int  # content words

    @property
    def plain(self) -> bool:
        return not (self.repeats or self.runs or self.often)


@lru_cache(maxsize=32768)
def _shape(text: str) -> _Shape:
    words = _words(text)
    stems = tuple(stem(w.lstrip("#")) for w in words)
    where: dict[str, list[int]] = {}
    total = 0
    for i, w in enumerate(words):
        if _content(w):
            total += 1
            where.setdefault(stems[i], []).append(i)
    often = tuple((k, len(v), tuple(v)) for k, v in where.items() if len(v) > WORD_CAP)
    return _Shape(tuple(words), stems, tuple(_repeats(words)), _runs(text, words), often, total)


def _aimed(shape: _Shape, start: int, end: int, interests: frozenset[str]) -> bool:
    """A run of which at least LIST_SHARE (and 3 or more) are the user's interest words: a list aimed
    at them. Other runs stay in the view: cutting keywords tacked on at an edge cut the honest words
    next to them too, which moved the item (passages.py weighs words planted in one place)."""
    hits = sum(1 for s in shape.stems[start:end] if s in interests)
    return hits >= LIST_SHARE * (end - start) and hits >= 3


def _rebuild(text: str, drop: set[int]) -> str:
    """`text` without the words at the indices in `drop` (each with the blank after it), the rest
    exactly as written."""
    out, at = [], 0
    spans = _spans(text)
    for i, (start, end) in enumerate(spans):
        if i in drop:
            out.append(text[at:start])
            after = spans[i + 1][0] if i + 1 < len(spans) else end
            at = after if text[end:after].isspace() else end
    out.append(text[at:])
    kept = _LEFTOVER.sub(lambda m: m.group(0).strip()[:1] + " ", "".join(out))
    return re.sub(r"[^\S\n]{2,}", " ", kept).strip()


def _examine_text(text: str, interests: frozenset[str]) -> tuple[str, tuple[str, ...]]:
    """`text` de-stuffed, and what stuffing was found in it."""
    shape = _shape(text) if text else None
    if shape is None or shape.plain:
        return text, ()
    found, drop = [], set()
    for start, n, times in shape.repeats:
        found.append("a phrase repeated over and over")
        drop.update(range(start + n, start + n * times))
    for start, end in shape.runs:
        if _aimed(shape, start, end, interests):
            found.append("a list of your interest words")
            drop.update(range(start, end))
    for key, count, at in shape.often:
        if key in interests and count >= FREQ_COUNT and count >= FREQ_SHARE * shape.total:
            found.append("one word repeated throughout")
            drop.update(at[WORD_CAP:])
    if not drop:
        return text, tuple(dict.fromkeys(found))
    return _rebuild(text, drop), tuple(dict.fromkeys(found))


def _examine_title(title: str, interests: frozenset[str]) -> tuple[str, tuple[str, ...]]:
    shape = _shape(title)
    if shape.plain and len(shape.words) <= TITLE_WORDS and len(title) <= FLOOD_CHARS:
        return title, ()
    words = shape.words
    found, drop = [], set()
    for start, n, times in shape.repeats:
        drop.update(range(start + n, start + n * times))
        found.append("a title that floods the screen")
    for start, end in shape.runs:
        if _aimed(shape, start, end, interests):
            found.append("a list of your interest words")
            drop.update(range(start, end))
    if len(words) > FLOOD_WORDS or len(title) > FLOOD_CHARS:
        found.append("a title that floods the screen")
    if len(words) - len(drop) > TITLE_WORDS:
        kept = [i for i in range(len(words)) if i not in drop][:TITLE_WORDS]
        drop = set(range(len(words))) - set(kept)
    if not drop:
        return title, tuple(dict.fromkeys(found))
    return _rebuild(title, drop), tuple(dict.fromkeys(found))


@lru_cache(maxsize=32768)
def _phrase_stems(phrase: str) -> frozenset[str]:
    return frozenset(stem(w.lstrip("#")) for w in _words(phrase) if _content(w))


def interest_stems(phrases: Iterable[str]) -> frozenset[str]:
    """The stems of the content words of what the user likes, asked for or has liked."""
    return frozenset().union(*(_phrase_stems(p) for p in phrases if p))


def destuff(item: Item, interests: frozenset[str] = frozenset()) -> tuple[Item, list[str]]:
    """The item as scorers may read it with its stuffing taken out, and what was found (empty when
    nothing was: then the view may still differ where a word was said more than WORD_CAP times)."""
    title, in_title = _examine_title(item.title, interests)
    text, in_text = _examine_text(item.text, interests)
    found = list(dict.fromkeys([*in_title, *in_text]))
    if title == item.title and text == item.text:
        return item, found
    return replace(item, title=title or item.title, text=text), found
