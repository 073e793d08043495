"""The semantic signals: closeness to the request, to liked history, to what is avoided.

All three work on one matrix of candidate vectors and measure cosine similarity against
the candidate mean, so a value says "closer than the other candidates are" rather than
"close in absolute terms" (MiniLM's absolute cosines drift with text length). SCALE turns
a cosine advantage into signal units: +0.1 cosine over the others is worth +0.25.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from shieldrec.items import Item, Preference
from shieldrec.ranking import evidence, explain, facts
from shieldrec.ranking.contribution import Contribution
from shieldrec.ranking.features import like_contrast
from shieldrec.ranking.filters import phrase_in
from shieldrec.ranking.taste import Taste, phrase

SCALE = 2.5
MAX_RATIO = 0.3  # history: 30% best single match, 70% weighted mean over everything liked
EXACT_BONUS = 0.25  # a tag or title that names exactly what was asked for
DISLIKE_MARGIN = 0.25  # a neighbourhood this much more disliked than usual is not yet evidence
Toward = Callable[[np.ndarray], np.ndarray]  # goal vectors -> the candidates' similarity to them (passages.py)
WORD_BONUS = 0.125  # the description says it in so many words: weaker, a plot can say "hopes" of anything
TEXT_CHARS = 1200  # MiniLM reads 256 tokens; more text only costs hashing and tokenising


def item_head(item: Item, tags: tuple[str, ...] | None = None) -> str:
    """What an item is embedded as before its description: title (year), then its tags."""
    y = facts.year(item)
    head = f"{item.title} ({y})" if y and str(y) not in item.title else item.title
    tags = facts.genres(item) if tags is None else tags
    return f"{head}. {', '.join(tags[:12])}" if tags else head


def item_text(item: Item, tags: tuple[str, ...] | None = None) -> str:
    """The text an item is embedded as: title (year), its tags, then its description."""
    head = item_head(item, tags)
    return f"{head}. {item.text[:TEXT_CHARS]}" if item.text else head


def _centered(x: np.ndarray) -> np.ndarray:
    return x - x.mean(axis=0, keepdims=True) if x.shape[0] else x


def instruction_signal(
    toward: Toward,
    items: Sequence[Item],
    tags: Sequence[tuple[str, ...]],
    query: np.ndarray | None,
    wanted: Sequence[str],
    wanted_vecs: np.ndarray,
) -> Contribution:
    """Closeness to what the user asked for now; an exact tag or title match adds a bonus."""
    n = len(items)
    if query is None and not wanted:
        return Contribution.zeros(n)
    values = SCALE * _centered(toward(query)) if query is not None else np.zeros(n, dtype=np.float32)
    reasons = [""] * n
    best_phrase = np.argmax(_centered(toward(wanted_vecs.T)), axis=1) if len(wanted) else None
    for j, item in enumerate(items):
        said = []  # each asked-for phrase the item's own metadata shows, in words
        for w in wanted:
            tag = facts.genre_match_any(w, tags[j])
            if tag or phrase_in(w, item.title) or (item.creator and phrase_in(w, item.creator)):
                values[j] += EXACT_BONUS
                said.append(explain.asked_match(item, w, tag))
            elif word := evidence.mentions(item.text, w):
                values[j] += WORD_BONUS
                said.append(explain.asked_words(word, w))
        if len(wanted) > 1 and len(said) == len(wanted):
            values[j] += EXACT_BONUS  # shows everything asked for: "animated" and "about robots"
        if said:
            reasons[j] = "; ".join(said[:2])
        else:
            # Close in meaning only: "similar in description", never a quality it does not show.
            closest = wanted[best_phrase[j]] if best_phrase is not None else None
            reasons[j] = explain.asked_near(item, tags[j], closest)
    return Contribution(values, reasons)


def history_signal(
    toward: Toward,
    items: Sequence[Item],
    tags: Sequence[tuple[str, ...]],
    taste: Taste,
    liked_vecs: np.ndarray,
    likes: Sequence[Preference],
    like_vecs: np.ndarray,
) -> Contribution:
    """Closeness to liked history (recency- and rating-weighted max and mean) and stated likes."""
    n = len(items)
    values = np.zeros(n, dtype=np.float32)
    reasons = [""] * n
    biggest = np.zeros(n, dtype=np.float32)  # the largest single push so far: it names the reason

    def note(j: int, amount: float, reason: str) -> None:
        values[j] += amount
        if reason and amount > biggest[j]:
            biggest[j] = amount
            reasons[j] = reason

    if len(taste.liked):
        w = taste.liked_weight
        sims = toward(liked_vecs.T)
        weighted = sims * (w / w.max())
        raw = MAX_RATIO * weighted.max(axis=1) + (1 - MAX_RATIO) * (sims @ w) / w.sum()
        push = SCALE * _centered(raw)
        best = np.argmax(weighted, axis=1)
        for j in range(n):
            ev = taste.liked[best[j]]
            values[j] += push[j]
            biggest[j] = max(float(push[j]), 0.0)
            reasons[j] = explain.described_like(items[j], tags[j], ev.item.title, phrase(ev))
    topics = [p for p in likes if p.target == "topic"]
    if topics:
        fit = SCALE * _centered(toward(like_vecs.T)) * np.asarray([p.weight for p in topics], dtype=np.float32)
        top = np.argmax(fit, axis=1)
        for j in range(n):
            if fit[j, top[j]] > 0:
                note(j, float(fit[j, top[j]]), explain.interest_near(items[j], tags[j], topics[top[j]].value))
    for j, item in enumerate(items):
        for p in likes:
            if p.target == "topic" and (tag := facts.genre_match(p.value, tags[j])):
                note(j, EXACT_BONUS * p.weight, f"tagged {tag}, which you like")
            elif p.target == "creator" and item.creator and phrase_in(p.value, item.creator):
                note(j, 2 * EXACT_BONUS * p.weight, f"by {p.value}, whom you like")
            elif p.target == "source" and any(s and s.lower() == p.value.lower() for s in (item.source, *item.platforms)):
                note(j, EXACT_BONUS * p.weight, f"from {p.value}, a source you like")
    return Contribution(values, reasons)


def avoid_signal(
    cands: np.ndarray,
    items: Sequence[Item],
    tags: Sequence[tuple[str, ...]],
    taste: Taste,
    liked_vecs: np.ndarray,
    disliked_vecs: np.ndarray,
    avoided: Sequence[tuple[str, float, str]],
    avoided_vecs: np.ndarray,
    avoids: Sequence[Preference],
) -> Contribution:
    """Penalties (values <= 0): closer to a dislike than to any like, near an avoided topic,
    by an avoided creator. `avoided` holds (phrase, weight, how the reason names it)."""
    n = len(items)
    penalty = np.zeros(n, dtype=np.float32)
    reasons = [""] * n
    biggest = np.zeros(n, dtype=np.float32)

    def note(j: int, amount: float, reason: str) -> None:
        penalty[j] += amount
        if reason and amount > biggest[j]:
            biggest[j] = amount
            reasons[j] = reason

    if len(taste.disliked) and len(taste.liked):
        dsims = (cands @ disliked_vecs.T) * (taste.disliked_weight / taste.disliked_weight.max())
        worst = np.argmax(dsims, axis=1)
        # Dislikes count only against likes: people dislike things inside their favourite category
        # too, so what is demoted is a neighbourhood more disliked than the user's usual share,
        # never the category itself (and nothing at all without likes to compare with).
        contrast = like_contrast(cands, liked_vecs, disliked_vecs, taste.liked_weight, taste.disliked_weight)
        over = SCALE * np.maximum(-contrast - DISLIKE_MARGIN, 0.0)
        for j in np.nonzero(over > 0)[0]:
            ev = taste.disliked[worst[j]]
            how = phrase(ev)
            note(int(j), float(over[j]), f"demoted: {r}" if (r := explain.described_like(
                items[j], tags[j], ev.item.title, how)) else "")
    if avoided:
        close = SCALE * np.maximum(_centered(cands @ avoided_vecs.T), 0.0)
        for j in range(n):
            for k, (term, weight, how) in enumerate(avoided):
                tag = facts.genre_match(term, tags[j])
                if tag:
                    note(j, 2 * EXACT_BONUS * weight, f"demoted: tagged {tag}, {how}")
                    continue
                # Tags that do not name it are weak evidence against it; the text may still say it.
                amount = float(close[j, k]) * weight * (0.5 if tags[j] else 1.0)
                if amount > 0:
                    note(j, amount, explain.avoided_near(items[j], tags[j], term, how))
    for j, item in enumerate(items):
        for p in avoids:
            if p.target == "creator" and item.creator and phrase_in(p.value, item.creator):
                note(j, 2 * EXACT_BONUS * p.weight, f"demoted: by {p.value}, whom you avoid")
            elif p.target == "source" and any(s and s.lower() == p.value.lower() for s in (item.source, *item.platforms)):
                note(j, EXACT_BONUS * p.weight, f"demoted: from {p.value}, a source you avoid")
    return Contribution(-np.minimum(penalty, 3.0), reasons)
