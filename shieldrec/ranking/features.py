"""Per-candidate features for the learned ranker: one float32 array per request.

Everything here reuses what the pipeline already computed (each text is embedded once;
the lexical and popularity signals are passed in), so a request costs a few small matrix
products. Similarities are measured against the request's own candidates (centred, and
some z-scored): MiniLM's absolute cosines drift with text length, and a model that reads
"closer than the other candidates" carries over from title-only feeds to long plots.

Each feature belongs to one GROUP, and each group is a signal the pipeline can put into
words ("close to 'Arrival', which you liked"), so a score split by group says which
reason is true. To add a feature: append its name to FEATURES and GROUPS, compute it in
`compute`, retrain (scripts/train_ranker.py); the weights file records the names it was
trained on, and a file that does not match is refused.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from shieldrec.items import HistoryEvent, Item
from shieldrec.ranking import facts
from shieldrec.ranking.filters import norm
from shieldrec.ranking.passages import CandidateVectors

FEATURES: tuple[str, ...] = (
    # what the user asked for now
    "instruction", "instruction_z", "instruction_phrase", "instruction_tag",
    # what they liked before
    "liked_max", "liked_top3", "liked_recent", "liked_centroid", "liked_z", "history_max", "recent_max", "year_near",
    "genre_affinity",
    # dislikes, only ever relative to likes
    "contrast",
    # names: the same creator, rare shared words
    "lexical", "creator_liked", "creator_seen",
    # what the platform says
    "popularity", "popularity_z", "platform_rank",
    # the item itself
    "hubness", "text_length",
)
GROUPS: dict[str, tuple[str, ...]] = {
    "instruction": ("instruction", "instruction_z", "instruction_phrase", "instruction_tag"),
    "history": ("liked_max", "liked_top3", "liked_recent", "liked_centroid", "liked_z", "history_max", "recent_max",
                "year_near", "genre_affinity", "creator_seen"),
    "dislikes": ("contrast",),
    "lexical": ("lexical", "creator_liked"),
    "popularity": ("popularity", "popularity_z"),
    "context": ("platform_rank", "hubness", "text_length"),
}
POPULARITY = GROUPS["popularity"]
# The plain baseline read as weights (score units per raw unit): cos to the instruction plus half the
# best cos to a history item. The learned ranker starts from it and is pulled back to it
# (scripts/train_ranker.py), so where the training lists say little it ranks as the baseline does and
# what it learns is a residual on top: a model that can only lose to the baseline where data says so.
PRIOR: dict[str, float] = {"instruction": 1.0, "history_max": 0.5}
# What the shipped model reads. The rest are computed for a per-profile head: the platform's own
# order and the length of an item's text say nothing in the training data (candidates are shuffled;
# plots exist for some films only), and `hubness` (likeness to the other candidates) flips sign with
# how a list was filled: it tells random catalogue items from the target in one sampling and
# platform-filled ones in another, so it models the data's sampling, not the user (the suite:
# -0.08 NDCG@10 on titles alone with it).
# Public counts likewise: their sign depends on how the other candidates were drawn (a target among
# random catalogue items is the popular one; among popularity-matched or platform-filled ones it is
# not), so a model trained to read them learns the sampling (left out of training, lists with
# counts and random candidates fell from 0.30 to 0.06-0.12 NDCG@10). The user's `[ranking]
# popularity` adds them with the hand-set weight instead (pipeline._scored), a choice, not a fit.
UNLEARNED: tuple[str, ...] = ("platform_rank", "text_length", "hubness", "popularity", "popularity_z")
MODEL_FEATURES: tuple[str, ...] = tuple(f for f in FEATURES if f not in UNLEARNED)
# The signals a request may or may not carry, each read from its features: a gate is open when any
# candidate has a non-zero value in one of its columns. The learned ranker keeps a weight correction
# per gate (learned.RankerWeights.gates): the history is worth less beside an instruction that says
# what is wanted, and public counts change what every other signal means.
GATES: dict[str, tuple[str, ...]] = {"instructed": ("instruction",), "counted": ("popularity", "popularity_z")}
# Bump when a feature's computation changes meaning (not for a refactor that leaves every value as
# it was): the shipped weights record the schema and weights of another one are refused. A check in
# the suite (tests/ranking/test_weights_contract.py) recomputes a fixed sample's features and fails
# when the weights no longer score it as their card says they did, which catches a change nobody bumped.
SCHEMA_VERSION = 2


def schema_fingerprint() -> str:
    """The feature schema weights must have been trained on: its version, its names and its gates."""
    names = ",".join(FEATURES) + "|" + ";".join(f"{g}={'+'.join(c)}" for g, c in GATES.items())
    return f"{SCHEMA_VERSION}-{zlib.crc32(names.encode('utf-8')):08x}"


INDEX = {name: i for i, name in enumerate(FEATURES)}
Z_FLOOR = 0.03  # a z-score never divides by less: near-identical candidates are not "far apart"
NEAR = 0.05  # cosine: how sharply the like-versus-dislike contrast listens to the nearest history items
TOP_K = 3
POP_LIMIT = 3.0
TEXT_FULL = 1200  # characters: the embedder reads no more
RECENT = 5  # the latest history events, whatever their kind: what someone is into right now
YEARS = 20  # history events whose years say which era someone is watching or reading now


@dataclass
class Inputs:
    """What one request's features are computed from (vectors are L2-normalised rows)."""

    items: Sequence[Item]
    cands: np.ndarray
    views: np.ndarray | None = None  # CandidateVectors.views: similarities toward the user read through them
    query: np.ndarray | None = None
    wanted: np.ndarray | None = None  # one row per asked-for phrase
    wanted_phrases: Sequence[str] = ()
    tags: Sequence[tuple[str, ...]] = ()
    liked: np.ndarray | None = None
    liked_weight: np.ndarray | None = None  # strength x recency, as the taste reads it
    disliked: np.ndarray | None = None
    disliked_weight: np.ndarray | None = None
    neutral: np.ndarray | None = None  # history items neither liked nor disliked
    liked_events: Sequence[HistoryEvent] = ()  # one per row of `liked`
    liked_tags: Sequence[tuple[str, ...]] | None = None  # facts.genres of each liked item, when known
    neutral_events: Sequence[HistoryEvent] = ()  # one per row of `neutral`
    lexical: np.ndarray | None = None  # the lexical signal's values
    counts: tuple[np.ndarray, np.ndarray] | None = None  # popularity_features(items), when known
    popularity: float = 1.0  # how much the user lets public counts count (0..1)


def open_gates(x: np.ndarray) -> tuple[str, ...]:
    """The GATES one request's feature matrix (n x len(FEATURES)) opens."""
    return tuple(g for g, cols in GATES.items() if any(np.any(x[:, INDEX[c]] != 0) for c in cols))


def _centred(x: np.ndarray) -> np.ndarray:
    return x - x.mean() if x.size else x


def _z(x: np.ndarray) -> np.ndarray:
    if x.size < 2:
        return np.zeros_like(x)
    d = x - x.mean()
    return d / max(math.sqrt(float(d @ d) / x.size), Z_FLOOR)


def _rows(m: np.ndarray | None) -> int:
    return 0 if m is None else int(m.shape[0])


def like_contrast(
    cands: np.ndarray,
    liked: np.ndarray,
    disliked: np.ndarray,
    liked_weight: np.ndarray | None = None,
    disliked_weight: np.ndarray | None = None,
    liked_sims: np.ndarray | None = None,
) -> np.ndarray:
    """Per candidate: the share of likes among the history items nearest to it, minus the
    user's overall share of likes. Negative means "more disliked than usual around here" (a
    sequel of something disliked); a user who dislikes things inside their favourite category
    sees that category at about 0, because its neighbourhood holds likes and dislikes in
    their usual proportion. 0 when there are no dislikes, or no likes to compare them with.

    "Nearest" is a soft choice: each history item votes with exp(similarity / NEAR), so an
    item 0.1 less similar than the closest one counts e^-2 as much; and one more voter, for
    the user's usual share, stands at the request's typical closeness to the history, so a
    candidate that is close to nothing in particular keeps its usual share."""
    n, m, q = cands.shape[0], _rows(liked), _rows(disliked)
    if not n or not m or not q:
        return np.zeros(n, dtype=np.float32)
    lw = np.ones(m, dtype=np.float32) if liked_weight is None else np.asarray(liked_weight, dtype=np.float32)
    dw = np.ones(q, dtype=np.float32) if disliked_weight is None else np.asarray(disliked_weight, dtype=np.float32)
    sims = np.concatenate([cands @ liked.T if liked_sims is None else liked_sims, cands @ disliked.T], axis=1)
    weight = np.concatenate([lw, dw])
    is_like = np.concatenate([np.ones(m, dtype=np.float32), np.zeros(q, dtype=np.float32)])
    base = float((weight * is_like).sum() / max(float(weight.sum()), 1e-9))
    top = sims.max(axis=1)
    typical = float(top.mean())
    ref = np.maximum(top, typical)[:, None]
    votes = np.exp((sims - ref) / NEAR) * weight
    usual = np.exp((typical - ref[:, 0]) / NEAR) * float(weight.mean())
    share = ((votes * is_like).sum(axis=1) + usual * base) / (votes.sum(axis=1) + usual)
    return (share - base).astype(np.float32)


def _creator_matches(items: Sequence[Item], events: Sequence[HistoryEvent]) -> np.ndarray:
    names = {norm(ev.item.creator) for ev in events if ev.item.creator}
    names.discard("")
    return np.asarray([1.0 if it.creator and norm(it.creator) in names else 0.0 for it in items], dtype=np.float32)


def genre_affinity(items: Sequence[Item], tags: Sequence[tuple[str, ...]], liked: Sequence[HistoryEvent],
                   weight: np.ndarray | None, liked_tags: Sequence[tuple[str, ...]] | None = None) -> np.ndarray:
    """How much of the user's liked history (by weight) carries the candidate's tags: the mean,
    over the candidate's tags, of the weighted share of liked items tagged so (0 without tags)."""
    n = len(items)
    if not liked or not any(tags):
        return np.zeros(n, dtype=np.float32)
    w = np.ones(len(liked)) if weight is None else np.asarray(weight, dtype=np.float64)
    total = float(w.sum()) or 1.0
    share: dict[str, float] = {}
    known = liked_tags if liked_tags is not None and len(liked_tags) == len(liked) else None
    for k, (ev, wi) in enumerate(zip(liked, w.tolist())):
        for tag in _lowered(known[k] if known is not None else facts.genres(ev.item)):
            share[tag] = share.get(tag, 0.0) + wi / total
    out = np.zeros(n, dtype=np.float32)
    if not share:
        return out
    for j in range(n):
        own = _lowered(tags[j] if j < len(tags) else ())
        if own:
            out[j] = sum(share.get(t, 0.0) for t in own) / len(own)
    return out


@lru_cache(maxsize=16384)
def _lowered(tags: tuple[str, ...]) -> frozenset[str]:
    return frozenset(t.lower() for t in tags)


def _source(item: Item) -> str:
    return (item.source or (item.platforms[0] if item.platforms else "")).lower()


def popularity_features(items: Sequence[Item], counts: Sequence[float | None] | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Log public counts (`counts`: facts.popularity_count of each item, when the caller has
    them), centred (and z-scored) among the candidates of the same source: a
    bookshop's millions of ratings say nothing against a film site's thousands. Where a source
    sends counts for the others, an item of it without one is treated as its least rated
    (missing counts must not lift an item; hostile ones often carry none)."""
    n = len(items)
    pop, pop_z = np.zeros(n, dtype=np.float32), np.zeros(n, dtype=np.float32)
    if counts is None:
        counts = [facts.popularity_count(it) for it in items]
    groups: dict[str, list[int]] = {}
    for j, it in enumerate(items):
        groups.setdefault(_source(it), []).append(j)
    for members in groups.values():
        known = [j for j in members if counts[j] is not None]
        if len(known) < 2:
            continue
        logs = np.log1p(np.asarray([counts[j] if counts[j] is not None else 0.0 for j in members], dtype=np.float64))
        floor = min(float(np.log1p(counts[j])) for j in known)  # type: ignore[arg-type]
        logs = np.where([counts[j] is not None for j in members], logs, floor)
        centre, spread = logs.mean(), max(float(logs.std()), 0.25)
        pop[members] = np.clip(logs - centre, -POP_LIMIT, POP_LIMIT)
        pop_z[members] = np.clip((logs - centre) / spread, -POP_LIMIT, POP_LIMIT)
    return pop, pop_z


def _when(ev: HistoryEvent) -> float:
    return float(ev.at) if isinstance(ev.at, (int, float)) and math.isfinite(ev.at) else 0.0


def latest(events: Sequence[HistoryEvent], k: int) -> list[int]:
    """Indices of the `k` most recent events, oldest first (events without distinct times keep
    their order)."""
    if not k:
        return []
    order = np.argsort(np.fromiter((_when(ev) for ev in events), dtype=np.float64, count=len(events)),
                       kind="stable")
    return order[-k:].tolist()


def year_nearness(items: Sequence[Item], events: Sequence[HistoryEvent], order: Sequence[int] | None = None,
                  years: Sequence[int | None] | None = None) -> np.ndarray:
    """Minus the distance, in decades, from the candidate's year to the median year of the latest
    history items that have one (0 where either is unknown). `order`: `latest(events, len(events))`;
    `years`: facts.year of each item, when the caller has them."""
    n = len(items)
    chosen = (order[-YEARS:] if order is not None else latest(events, YEARS))
    past = [y for i in chosen if (y := facts.year(events[i].item))]
    if not past:
        return np.zeros(n, dtype=np.float32)
    centre = float(np.median(past))
    out = np.zeros(n, dtype=np.float32)
    for j, y in enumerate(years if years is not None else [facts.year(it) for it in items]):
        if y:
            out[j] = -min(abs(y - centre), 50.0) / 10.0
    return out


# Columns measured against the request's other candidates (their mean subtracted, in one step).
CENTRED = tuple(INDEX[f] for f in ("instruction", "instruction_phrase", "liked_max", "liked_top3", "liked_recent",
                                   "liked_centroid", "history_max", "recent_max", "genre_affinity", "hubness",
                                   "text_length"))


def compute(x: Inputs) -> np.ndarray:
    """The feature matrix: one row per candidate, one column per name in FEATURES."""
    n = x.cands.shape[0]
    out = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if not n:
        return out
    # A damaged vector (a cache entry cut short, an overflow) says nothing about its item: a zero vector,
    # close to nothing, rather than NaNs that would reach every item through the list's sums.
    cands = np.nan_to_num(x.cands, nan=0.0, posinf=0.0, neginf=0.0)
    toward = CandidateVectors(cands, x.views).toward
    col = INDEX

    if x.query is not None:
        sim = toward(x.query)
        out[:, col["instruction"]] = sim
        out[:, col["instruction_z"]] = _z(sim)
    if _rows(x.wanted):
        out[:, col["instruction_phrase"]] = toward(x.wanted.T).max(axis=1)
        for j, item in enumerate(x.items):
            tags = x.tags[j] if j < len(x.tags) else ()
            if any(facts.genre_match_any(w, tags) or (w and norm(w) in norm(item.title)) for w in x.wanted_phrases):
                out[j, col["instruction_tag"]] = 1.0

    m = _rows(x.liked)
    history = [v for v in (x.liked, x.neutral) if _rows(v)]
    hsims = toward(np.concatenate(history).T) if history else None
    if m:
        sims = hsims[:, :m]
        w = np.ones(m, dtype=np.float32) if x.liked_weight is None else np.asarray(x.liked_weight, dtype=np.float32)
        k = min(TOP_K, m)
        recent = (sims @ w) / max(float(w.sum()), 1e-9)
        centroid = x.liked.mean(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
        out[:, col["liked_max"]] = sims.max(axis=1)
        out[:, col["liked_top3"]] = np.partition(sims, m - k, axis=1)[:, m - k:].mean(axis=1)
        out[:, col["liked_recent"]] = recent
        out[:, col["liked_centroid"]] = toward(centroid)
        out[:, col["liked_z"]] = _z(recent)
        out[:, col["genre_affinity"]] = genre_affinity(x.items, x.tags, x.liked_events, x.liked_weight, x.liked_tags)
        if _rows(x.disliked):
            # Likes and dislikes on the same footing: both read from the whole text.
            out[:, col["contrast"]] = like_contrast(cands, x.liked, x.disliked, x.liked_weight, x.disliked_weight)
    events = [*x.liked_events, *x.neutral_events]
    if hsims is not None:
        out[:, col["history_max"]] = hsims.max(axis=1)
        if len(events) == hsims.shape[1]:
            order = latest(events, len(events))
            out[:, col["recent_max"]] = hsims[:, order[-RECENT:]].max(axis=1)
            years = [facts.year(it) for it in x.items]
            if any(years):
                near = year_nearness(x.items, events, order, years)
                known = np.asarray([y is not None for y in years])
                out[:, col["year_near"]] = np.where(known, near - near[known].mean(), 0.0)

    if x.lexical is not None:
        out[:, col["lexical"]] = x.lexical
    out[:, col["creator_liked"]] = _creator_matches(x.items, x.liked_events)
    out[:, col["creator_seen"]] = _creator_matches(x.items, events)

    if x.popularity > 0:
        pop, pop_z = x.counts if x.counts is not None else popularity_features(x.items)
        out[:, col["popularity"]] = pop * x.popularity
        out[:, col["popularity_z"]] = pop_z * x.popularity
    if n > 1:
        out[:, col["platform_rank"]] = 0.5 - np.arange(n, dtype=np.float32) / (n - 1)
        if x.query is None:
            # Without an instruction, an item much like the rest of the list is a weaker bet; with
            # one, items alike because they all match it must not be held back for it.
            gram = cands @ cands.T
            out[:, col["hubness"]] = (gram.sum(axis=1) - np.diag(gram)) / (n - 1)
    lengths = np.asarray([math.log1p(min(len(it.text), TEXT_FULL)) for it in x.items], dtype=np.float32)
    out[:, col["text_length"]] = lengths / math.log1p(TEXT_FULL)
    # The same for any other input that is not a number (a history vector, a view): no signal, rather
    # than a NaN that puts an item anywhere in the order and, once centred, blanks its column for all.
    np.nan_to_num(out, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    centred = list(CENTRED)
    out[:, centred] -= out[:, centred].mean(axis=0)
    return out
