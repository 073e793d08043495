"""`shieldrec eval learning`: does a profile learn from its own user? Simulated users on real ratings.

Per user (test users only: the shipped ranker never saw them), ratings oldest first:
- the newest HELD_OUT share of their ratings (at least MIN_HELD_OUT) is held out; the test list
  is those movies plus TEST_NEGATIVES movies the user never rated (fixed seed); a held-out
  movie rated 4 or more is relevant. NDCG@10 of that list is the score;
- the profile starts from STATED_LIKES stated likes: the user's first movies rated 4 or more;
- each round the learned prior (what a new profile ranks with) orders the user's other rated
  movies, not shown yet, among ROUND_NEGATIVES unrated ones; the top SHOWN are shown, and the
  user's real rating of each shown movie comes back as feedback (4+ liked, 2 or less disliked,
  3 rated 3); shown movies the user never rated are passed over (a weak "no" to the learner).

After each round, the four methods rank the test list with the same history: the embedding
baseline, the hand-set pipeline, the learned prior, and the prior with the personal model
fitted on the feedback so far (as `shieldrec.learning` fits it for a real profile, blend rule
included). Every user's feedback loop is the same for the four (the prior's), so the curves
differ only in how each method uses the same events.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from shieldrec.eval.cases import HISTORY_BANDS, band, is_test_user
from shieldrec.eval.methods import EvalContext, five_line
from shieldrec.items import HistoryEvent, Item
from shieldrec.learning import examples, personal
from shieldrec.ranking.types import RankRequest

EMBEDDING = "embedding-only"
HAND_SET = "hand-set pipeline"
PRIOR = "learned prior"
ADAPTED = "prior + personal adaptation"
METHODS = (EMBEDDING, HAND_SET, PRIOR, ADAPTED)
DATASETS = ("movielens-100k", "ml-latest-small")
STATED_LIKES = 3
ROUNDS = 8
SHOWN = 10
ROUND_NEGATIVES = 30
TEST_NEGATIVES = 30
HELD_OUT = 0.2
MIN_HELD_OUT = 5
MIN_RATINGS = 30
K = 10


@dataclass
class SimUser:
    user_id: str
    ratings: list[tuple[str, float, float]]  # (item id, rating, at), oldest first


@dataclass
class World:
    """One data set as the simulation reads it."""

    name: str
    items: dict[str, Item]
    users: list[SimUser]
    counts: dict[str, int]


def _item(base: Item, own: bool) -> Item:
    """The item as a platform would send it to this user: public counts without their own rating."""
    count = base.meta.get("rating_count", 0)
    return replace(base, meta={**base.meta, "rating_count": max(0, int(count) - (1 if own else 0))})


def load_world(name: str, data: str | Path | None = None) -> World:
    if name == "movielens-100k":
        from shieldrec.eval import movielens as ML

        ml = ML.load()
        items = {m.item_id: ML.movie_item(m, ml.counts[m.item_id]) for m in ml.movies.values()}
        users = [SimUser(u, [(r.item_id, r.rating, r.at) for r in rs]) for u, rs in ml.ratings.items()]
    elif name == "ml-latest-small":
        from shieldrec.eval import mllatest as MLL

        d = MLL.load(data)
        items = {}
        for f in d.films.values():
            meta: dict[str, Any] = {"genres": list(f.genres), "rating_count": d.counts[f.item_id]}
            if f.year:
                meta["year"] = f.year
            items[f.item_id] = Item(item_id=f.item_id, title=f.title, text=d.plots.get(f.item_id, ""),
                                    source=MLL.SOURCE, meta=meta)
        users = [SimUser(u, list(rs)) for u, rs in d.ratings.items()]
    else:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    return World(name, items, users, {})


def choose_users(world: World, n: int | None, seed: int) -> list[SimUser]:
    pool = [u for u in world.users if is_test_user(_suite_name(world.name), u.user_id) and len(u.ratings) >= MIN_RATINGS
            and sum(1 for _, r, _ in u.ratings if r >= 4) > STATED_LIKES]
    pool.sort(key=lambda u: int(u.user_id) if u.user_id.isdigit() else u.user_id)
    if n is not None and n < len(pool):
        pick = np.random.default_rng(seed).choice(len(pool), size=n, replace=False)
        pool = [pool[i] for i in sorted(pick)]
    return pool


def _suite_name(name: str) -> str:
    # The same users are test users here as in `eval suite` (whose ml-latest set carries the tags).
    return "ml-latest-small-tags" if name == "ml-latest-small" else name


def _event(item: Item, rating: float, at: float) -> HistoryEvent:
    kind = "liked" if rating >= 4 else "disliked" if rating <= 2 else "rated"
    return HistoryEvent(item=item, event=kind, rating=rating if kind == "rated" else None, at=at)


@dataclass
class Point:
    """One user after one round: feedback events so far, NDCG@10 per method."""

    user: str
    round: int
    events: int
    ndcg: dict[str, float]


@dataclass
class Curves:
    dataset: str
    users: int
    points: list[Point] = field(default_factory=list)
    seconds: float = 0.0

    def by_round(self) -> dict[str, list[float]]:
        rounds = sorted({p.round for p in self.points})
        return {m: [round(float(np.mean([p.ndcg[m] for p in self.points if p.round == r])), 4) for r in rounds]
                for m in METHODS}

    def events(self) -> list[float]:
        rounds = sorted({p.round for p in self.points})
        return [round(float(np.mean([p.events for p in self.points if p.round == r])), 1) for r in rounds]

    def by_band(self) -> dict[str, dict[str, float]]:
        """NDCG@10 per method over every (user, round) whose feedback so far falls in a band."""
        out: dict[str, dict[str, float]] = {}
        for _, _, name in HISTORY_BANDS:
            chosen = [p for p in self.points if band(p.events) == name]
            if chosen:
                out[name] = {m: round(float(np.mean([p.ndcg[m] for p in chosen])), 4) for m in METHODS}
                out[name]["n"] = len(chosen)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "users": self.users, "curves": self.by_round(), "events": self.events(),
                "by_history_length": self.by_band(), "seconds": round(self.seconds, 1)}


def ndcg(ranking: Sequence[str], relevant: set[str], k: int = K) -> float:
    gains = [1.0 / np.log2(i + 2) for i, x in enumerate(ranking[:k]) if x in relevant]
    ideal = sum(1.0 / np.log2(i + 2) for i in range(min(k, len(relevant))))
    return float(sum(gains) / ideal) if ideal else 0.0


class Simulation:
    """The pipelines and the fitting, shared by every user of one run."""

    def __init__(self, ctx: EvalContext) -> None:
        from shieldrec.ranking import Pipeline

        self.ctx = ctx
        ranking = ctx.settings.ranking
        self.prior = Pipeline(replace(ranking, ranker="learned"), ctx.embedder, ranker=ctx.ranker)
        self.fusion = Pipeline(replace(ranking, ranker="fusion"), ctx.embedder)
        self.embedding = five_line(ctx)
        self._replayed: dict[Any, Any] = {}

    def order(self, pipeline: Any, request: RankRequest) -> list[str]:
        result = pipeline.rank(request)
        return [r.item.item_id for r in result.ranking] + [r.item.item_id for r in result.removed]

    def adapted(self, lists: list[examples.Judged], history: list[HistoryEvent]) -> Any:
        """The prior with the personal model fitted on `lists` (None: it does not count yet)."""
        from shieldrec.learning.personalize import head_for
        from shieldrec.ranking import Pipeline
        from shieldrec.ranking.features import FEATURES

        if not lists:
            return None
        from shieldrec.learning.update import prior_of

        feats, scores = self.replay(lists)
        model = prior_of(self.prior)
        fitted = personal.train(lists, feats, scores, FEATURES, model.version)
        head = head_for(fitted.model)
        if head is None:
            return None
        return Pipeline(self.prior.settings, self.ctx.embedder, ranker=model, head=head)

    def replay(self, lists: list[examples.Judged]) -> tuple[list[Any], list[np.ndarray]]:
        from shieldrec.learning.update import replay

        return replay(self.prior, lists, self._replayed)  # as a real profile's learner keeps them

    def user(self, world: World, u: SimUser, rounds: int, seed: int) -> list[Point]:
        rng = np.random.default_rng([seed, zlib.crc32(u.user_id.encode('utf-8'))])
        rated = {i: (r, at) for i, r, at in u.ratings if i in world.items}
        order = [(i, r, at) for i, r, at in u.ratings if i in world.items]
        cut = max(MIN_HELD_OUT, int(round(len(order) * HELD_OUT)))
        train, test = order[:-cut], order[-cut:]
        relevant = {i for i, r, _ in test if r >= 4}
        if not relevant:
            return []
        never = [i for i in world.items if i not in rated]
        test_ids = [i for i, _, _ in test] + [never[j] for j in rng.choice(len(never), TEST_NEGATIVES, replace=False)]
        test_ids = [test_ids[j] for j in rng.permutation(len(test_ids))]
        test_items = [_item(world.items[i], i in rated) for i in test_ids]
        likes = [(i, r, at) for i, r, at in train if r >= 4][:STATED_LIKES]
        history = [_event(_item(world.items[i], True), r, at) for i, r, at in likes]
        pool = [(i, r, at) for i, r, at in train if i not in {x for x, _, _ in likes}]
        start = max(at for _, _, at in train)
        shown: set[str] = {i for i, _, _ in likes}
        lists: list[examples.Judged] = []
        points = []
        for rnd in range(rounds + 1):
            if rnd:
                now = start + rnd * 3600.0
                left = [i for i, _, _ in pool if i not in shown]
                if not left:
                    break
                extra = [i for i in never if i not in shown]
                drawn = [extra[j] for j in rng.choice(len(extra), ROUND_NEGATIVES, replace=False)]
                cands = [_item(world.items[i], i in rated) for i in [*left, *drawn]]
                req = RankRequest(candidates=cands, history=list(history), request_id=f"sim-{u.user_id}-{rnd}")
                top = self.order(self.prior, req)[:SHOWN]
                gains: dict[str, float] = {}
                events = []
                for i in top:
                    shown.add(i)
                    if i in rated:
                        ev = _event(_item(world.items[i], True), rated[i][0], now)
                        events.append(ev)
                        gains[i] = examples.gain(ev) or 0.0
                    else:
                        gains[i] = examples.SKIPPED
                lists.append(examples.Judged(
                    RankRequest(candidates=[_item(world.items[i], i in rated) for i in top], history=list(history),
                                request_id=f"learn-{u.user_id}-{rnd}"), gains, now, events))
                lists = [j for j in lists if len(set(j.gains.values())) > 1]
                history = history + events
            req = RankRequest(candidates=test_items, history=list(history), request_id=f"test-{u.user_id}-{rnd}")
            got = {
                EMBEDDING: self.embedding([req])[0],
                HAND_SET: self.order(self.fusion, req),
                PRIOR: self.order(self.prior, req),
            }
            adapted = self.adapted(lists, history)
            got[ADAPTED] = got[PRIOR] if adapted is None else self.order(adapted, req)
            points.append(Point(u.user_id, rnd, len(history) - STATED_LIKES, {m: ndcg(got[m], relevant) for m in METHODS}))
        return points


def run(name: str, ctx: EvalContext, *, users: int | None = 60, rounds: int = ROUNDS, data: str | Path | None = None,
        on_progress: Callable[[str], None] | None = None) -> Curves:
    started = time.perf_counter()
    world = load_world(name, data)
    chosen = choose_users(world, users, ctx.seed)
    sim = Simulation(ctx)
    ctx.embedder.prefetch([_text(world.items[i]) for u in chosen for i, _, _ in u.ratings if i in world.items])
    curves = Curves(name, len(chosen))
    for n, u in enumerate(chosen, 1):
        curves.points += sim.user(world, u, rounds, ctx.seed)
        sim._replayed.clear()
        if on_progress and n % 10 == 0:
            on_progress(f"{name}: {n} of {len(chosen)} users")
    curves.seconds = time.perf_counter() - started
    return curves


def _text(item: Item) -> str:
    from shieldrec.ranking.semantic import item_text

    return item_text(item)


def format_curves(c: Curves) -> str:
    rows = [f"{c.dataset}: {c.users} simulated users, NDCG@{K} on held-out ratings after each round"]
    events = c.events()
    curves = c.by_round()
    width = max(len(m) for m in METHODS)
    rows.append(" " * width + "  " + " ".join(f"{e:>6.0f}" for e in events) + "   ← feedback events (mean)")
    for m in METHODS:
        rows.append(f"{m:<{width}}  " + " ".join(f"{v:6.3f}" for v in curves[m]))
    rows.append("by feedback events so far (every user and round):")
    for name, scores in c.by_band().items():
        rows.append(f"  {name:>6} ({scores['n']:.0f}): " + ", ".join(f"{m} {scores[m]:.3f}" for m in METHODS))
    return "\n".join(rows)


def plot(results: Sequence[Curves], path: Path) -> Path:
    """One panel per data set: NDCG@10 against feedback events, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results), 4), squeeze=False)
    for ax, c in zip(axes[0], results):
        x = c.events()
        for m, ys in c.by_round().items():
            ax.plot(x, ys, marker="o", label=m)
        ax.set_title(f"{c.dataset} ({c.users} users)")
        ax.set_xlabel("feedback events")
        ax.set_ylabel(f"NDCG@{K}, held-out ratings")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
