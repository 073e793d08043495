"""Interest facets: what the user tends to like (and to dislike), as clusters of their own items.

The liked items of the history (each item once, by its latest feedback) are grouped by
closeness of their embeddings; a group of two or more is a facet. Its label comes from the
items' own text: the tags most of them carry ("sci-fi") and the words most of them share
that are rare in the rest of the history ("space", "hopeful"). Its strength is the sum of its
items' feedback, each halved every HALF_LIFE_DAYS; a dislike of an item that fits the facet
(close to it and showing one of its words) takes its weight off: contradicting feedback
weakens a facet until it goes. Disliked items make "avoid" facets the same way.

A facet's `words` are the evidence an item must show in its own metadata (a tag, a word of
its title or description) before a reason may say it fits: closeness alone never does.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shieldrec.items import HistoryEvent, Item
from shieldrec.ranking import facts
from shieldrec.ranking.lexical import tokens
from shieldrec.ranking.taste import strength
from shieldrec.store.learned import Facet

HALF_LIFE_DAYS = 120.0
JOIN = 0.5  # cosine to a group's centre for an item to join it
FIT = 0.4  # cosine to a facet's centre for an item to be said to fit it (with a word of evidence)
MIN_ITEMS = 2
MIN_STRENGTH = 0.5  # below it a facet is not believed (a like or two, long ago, or contradicted)
MAX_FACETS = 12  # per kind
MAX_ITEMS = 1000  # the latest items read (older ones have faded to almost nothing anyway)
LABEL_TAGS = 2
LABEL_WORDS = 2
TITLES = 3
# Words that say nothing about what an item is about, on top of the lexical signal's list.
_VAGUE = frozenset("""when where what which while who whom whose will would could should must might can
than then there here they them also just only very much more most some such each every both other
another being into onto upon within without through during because however although though yet still
even ever never always often again around down back away well make makes made takes take gets get
goes going come comes came find finds found tells told becomes become gives give named called""".split())


@dataclass
class _Member:
    event: HistoryEvent
    weight: float  # |strength| x decay
    tags: frozenset[str]
    words: frozenset[str]
    vector: np.ndarray | None


def decay(at: float, now: float) -> float:
    age_days = max(0.0, now - at) / 86400.0 if math.isfinite(at) else 0.0
    return 0.5 ** (age_days / HALF_LIFE_DAYS)


def item_tags(item: Item) -> frozenset[str]:
    return frozenset(t.strip().lower() for t in facts.genres(item) if t.strip())


def item_words(item: Item) -> frozenset[str]:
    return frozenset(w for w in tokens(f"{item.title} {item.text[:1200]}") if w not in _VAGUE and len(w) > 3)


def shows(item: Item, facet: Facet) -> str:
    """The facet word the item's own metadata shows ("" when none): the evidence for a reason."""
    tags, words = item_tags(item), None
    for w in facet.words:
        if w in tags:
            return w
        if words is None:
            words = item_words(item)
        if w in words:
            return w
    return ""


def _latest(history: Sequence[HistoryEvent]) -> list[HistoryEvent]:
    """Each item once, by its latest feedback that says something (like, dislike, rating)."""
    latest: dict[str, HistoryEvent] = {}
    for ev in history:
        if strength(ev) != 0.0 and ev.event != "skipped":
            latest[ev.item.item_id] = ev
    return list(latest.values())


def _groups(members: list[_Member]) -> list[list[_Member]]:
    """Strongest first, each item joins the group whose centre it is closest to (at least JOIN),
    or starts one. Items without a vector group by a shared tag (or, failing that, a word)."""
    groups: list[list[_Member]] = []
    sums: list[np.ndarray] = []  # weighted vector sums of the groups with vectors
    with_vectors: list[int] = []  # their indices in `groups`
    for m in sorted(members, key=lambda m: -m.weight):
        best = -1
        if m.vector is not None and sums:
            centres = np.asarray(sums)
            sims = centres @ m.vector / np.maximum(np.linalg.norm(centres, axis=1), 1e-9)
            k = int(np.argmax(sims))
            if sims[k] >= JOIN:
                best = with_vectors[k]
                sums[k] = sums[k] + m.vector * m.weight
        elif m.vector is None:
            own = m.tags or m.words
            scored = [(len(own & (g[0].tags or g[0].words)), i) for i, g in enumerate(groups) if g[0].vector is None]
            shared, i = max(scored, default=(0, -1))
            best = i if shared else -1
        if best < 0:
            groups.append([m])
            if m.vector is not None:
                with_vectors.append(len(groups) - 1)
                sums.append(m.vector * m.weight)
        else:
            groups[best].append(m)
    return groups


def _label(group: list[_Member], df: Counter[str], total: int) -> tuple[str, tuple[str, ...]]:
    """(label, evidence words): tags most members carry, and shared words rare elsewhere."""
    n = len(group)
    need = max(2, math.ceil(n / 2))
    tag_counts = Counter(t for m in group for t in m.tags)
    tags = [t for t, c in tag_counts.most_common() if c >= need][:LABEL_TAGS]
    word_counts = Counter(w for m in group for w in m.words)

    def rarity(w: str) -> float:
        return word_counts[w] / n * math.log((total + 1) / (df[w] + 0.5))

    words = sorted((w for w, c in word_counts.items() if c >= need and w not in tags and rarity(w) > 0.2),
                   key=lambda w: (-rarity(w), w))[:LABEL_WORDS]
    if tags and words:
        return f"{' and '.join(tags)} about {' and '.join(words)}", (*tags, *words)
    if tags:
        return " and ".join(tags), tuple(tags)
    if words:
        return f"things about {' and '.join(words)}", tuple(words)
    return "", ()


def build(history: Sequence[HistoryEvent], vectors: dict[str, np.ndarray] | None = None,
          now: float | None = None) -> list[Facet]:
    """The facets `history` supports, strongest first. `vectors`: item id -> unit embedding of
    its text (semantic.item_text); without them, items group by shared tags or words."""
    now = time.time() if now is None else now
    vectors = vectors or {}
    members: dict[str, list[_Member]] = {"like": [], "avoid": []}
    everyone: list[_Member] = []
    for ev in sorted(_latest(history), key=lambda e: e.at)[-MAX_ITEMS:]:
        s = strength(ev)
        m = _Member(ev, abs(s) * decay(ev.at, now), item_tags(ev.item), item_words(ev.item), vectors.get(ev.item.item_id))
        everyone.append(m)
        members["like" if s > 0 else "avoid"].append(m)
    df: Counter[str] = Counter(w for m in everyone for w in m.words)
    out: list[Facet] = []
    for kind, pool in members.items():
        other = members["avoid" if kind == "like" else "like"]
        made = []
        for group in _groups(pool):
            if len(group) < MIN_ITEMS:
                continue
            label, words = _label(group, df, len(everyone))
            if not words:
                continue
            vecs = [m.vector * m.weight for m in group if m.vector is not None]
            centroid = None
            if vecs:
                c = np.sum(vecs, axis=0)
                centroid = (c / max(float(np.linalg.norm(c)), 1e-9)).astype(np.float32)
            facet = Facet(key=f"{kind}:{'|'.join(sorted(words))}", kind=kind, label=label, words=words,
                          strength=0.0, last_at=max(m.event.at for m in group),
                          items=[(m.event.id or 0, m.event.item.title) for m in
                                 sorted(group, key=lambda m: -m.event.at)][:TITLES * 4],
                          centroid=centroid)
            against = sum(m.weight for m in other if _fits(m, facet))
            facet.strength = round(sum(m.weight for m in group) - against, 4)
            if facet.strength >= MIN_STRENGTH:
                made.append(facet)
        made.sort(key=lambda f: -f.strength)
        out += made[:MAX_FACETS]
    return out


def _fits(m: _Member, facet: Facet) -> bool:
    if not (facet.words and (set(facet.words) & (m.tags | m.words))):
        return False
    if m.vector is None or facet.centroid is None:
        return True
    return float(m.vector @ facet.centroid) >= FIT


def select(facets: Sequence[Facet], query: np.ndarray | None = None, query_words: frozenset[str] = frozenset(),
           k: int = 3) -> list[Facet]:
    """The facets that matter for one request: with an instruction, the liked facets closest to
    it (pinned ones first among equals); without one, the strongest. Avoid facets always count."""
    likes = [f for f in facets if f.kind == "like"]
    avoids = [f for f in facets if f.kind == "avoid"][:k]
    if query is None and not query_words:
        return sorted(likes, key=lambda f: (not f.pinned, -f.strength))[:k] + avoids

    def relevance(f: Facet) -> float:
        sim = float(query @ f.centroid) if query is not None and f.centroid is not None else 0.0
        return sim + 0.3 * len(set(f.words) & query_words) + (0.05 if f.pinned else 0.0)

    chosen = [f for f in sorted(likes, key=lambda f: -relevance(f)) if relevance(f) >= 0.25][:k]
    return chosen + avoids


def describe(f: Facet) -> str:
    """"you tend to like sci-fi and drama (liked 'Arrival', 'Contact' and 3 more)"."""
    verb = "like" if f.kind == "like" else "dislike"
    titles = [f"'{t}'" for _, t in f.items[:TITLES]]
    more = f" and {len(f.items) - TITLES} more" if len(f.items) > TITLES else ""
    return f"you tend to {verb} {f.label} ({'liked' if f.kind == 'like' else 'disliked'} {', '.join(titles)}{more})"
