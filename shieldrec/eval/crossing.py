"""`shieldrec eval suite`: every source crossed with every shape a platform sends (shapes.py).

Per cell (source x shape), on the test users: NDCG@10 and HR@1 of the default ranker, the hand-set
fusion, the five-line baseline and popularity alone, each with a 95 % interval (bootstrap over the
cell's lists, fixed seed); then the one line that says whether the default generalises: the worst
cell's difference default - baseline on NDCG@10, with its paired interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shieldrec.eval import shapes as S
from shieldrec.eval.methods import BASELINE, DEFAULT, FUSION, POPULARITY, EvalContext
from shieldrec.eval.metrics import hit_at, ndcg_at
from shieldrec.eval.runner import evaluate

METHODS = (DEFAULT, FUSION, BASELINE, POPULARITY)
SOURCES = tuple(S.SOURCES)
RESAMPLES = 1000
QUICK_USERS = 30
# CI-sized: one source per domain, the shapes the held-out sets have and the platform-filled one.
QUICK_SOURCES = ("movielens-100k", "book-crossing")
QUICK_SHAPES = tuple(S.SHAPES[i] for i in (0, 1, 2, 4, 6, 7))


@dataclass
class Interval:
    mean: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        return {"mean": round(self.mean, 4), "low": round(self.low, 4), "high": round(self.high, 4)}

    def __str__(self) -> str:
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]"


def bootstrap(values: np.ndarray, seed: int = 0, resamples: int = RESAMPLES) -> Interval:
    """The mean of `values` (one per list; a 2-D array's rows are lists) and its 95 % percentile interval."""
    n = len(values)
    if n == 0:
        return Interval(0.0, 0.0, 0.0)
    picks = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    means = values[picks].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return Interval(float(values.mean()), float(low), float(high))


@dataclass
class Cell:
    source: str
    shape: str
    lists: int
    ndcg: dict[str, Interval]  # method -> NDCG@10
    hr1: dict[str, Interval]  # method -> HR@1
    gap: Interval | None  # default - baseline, NDCG@10, paired over the same lists

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "shape": self.shape, "lists": self.lists,
                "NDCG@10": {m: v.to_dict() for m, v in self.ndcg.items()},
                "HR@1": {m: v.to_dict() for m, v in self.hr1.items()},
                "default_minus_baseline": self.gap.to_dict() if self.gap else None}


def score_cell(source: str, shape: S.Shape, cases: Sequence[Any], ctx: EvalContext,
               methods: Sequence[str] = METHODS) -> Cell:
    report = evaluate(cases, methods, ctx, dataset=f"{source} {shape.name}")
    ndcg = {s.name: np.array([ndcg_at(r, 10) for r in s.ranks]) for s in report.scores}
    hr1 = {s.name: np.array([hit_at(r, 1) for r in s.ranks]) for s in report.scores}
    # The same resampled lists for every method of a cell, so the difference is paired.
    gap = bootstrap(ndcg[DEFAULT] - ndcg[BASELINE], ctx.seed) if DEFAULT in ndcg and BASELINE in ndcg else None
    return Cell(source, shape.name, len(cases), {m: bootstrap(v, ctx.seed) for m, v in ndcg.items()},
                {m: bootstrap(v, ctx.seed) for m, v in hr1.items()}, gap)


@dataclass
class Crossing:
    cells: list[Cell]
    skipped: dict[str, str]  # source -> why it was not read
    seconds: float = 0.0

    def worst(self) -> Cell | None:
        scored = [c for c in self.cells if c.gap is not None]
        return min(scored, key=lambda c: c.gap.mean) if scored else None  # type: ignore[union-attr]

    def to_dict(self) -> dict[str, Any]:
        w = self.worst()
        return {"cells": [c.to_dict() for c in self.cells], "skipped": self.skipped,
                "worst": {"source": w.source, "shape": w.shape, **w.gap.to_dict()} if w and w.gap else None,
                "seconds": round(self.seconds, 1)}


def run(ctx: EvalContext, sources: Sequence[str] = SOURCES, shapes: Sequence[S.Shape] = S.SHAPES, *,
        users: int | None = None, data: str | Path | None = None, methods: Sequence[str] = METHODS,
        on_progress: Callable[[str], None] | None = None) -> Crossing:
    started = time.perf_counter()
    skipped: dict[str, str] = {}
    out = []
    for source, shape, cases in S.cells(sources, shapes, "test", users=users, seed=ctx.seed, data=data,
                                         on_missing=skipped.__setitem__):
        if on_progress:
            on_progress(f"{source} {shape.name}: {len(cases)} lists")
        out.append(score_cell(source, shape, cases, ctx, methods))
    return Crossing(out, skipped, time.perf_counter() - started)


def worst_line(result: Crossing) -> str:
    w = result.worst()
    if w is None or w.gap is None:
        return "worst cell: none (the default ranker and the baseline were not both run)"
    return (f"worst cell: {w.source} × {w.shape} ({w.lists} lists): {DEFAULT} - {BASELINE}, NDCG@10 = "
            f"{w.gap.mean:+.3f} [{w.gap.low:+.3f}, {w.gap.high:+.3f}]")


def format_markdown(result: Crossing) -> str:
    methods = list(result.cells[0].ndcg) if result.cells else []
    head = ["source", "shape", "lists", *(f"{m} NDCG@10" for m in methods), *(f"{m} HR@1" for m in methods),
            "default − baseline"]
    lines = ["| " + " | ".join(head) + " |", "|---|---|---:|" + "---:|" * (2 * len(methods) + 1)]
    for c in result.cells:
        lines.append("| " + " | ".join([c.source, c.shape, str(c.lists), *(str(c.ndcg[m]) for m in methods),
                                        *(str(c.hr1[m]) for m in methods),
                                        f"{c.gap.mean:+.3f} [{c.gap.low:+.3f}, {c.gap.high:+.3f}]" if c.gap else "–"])
                     + " |")
    for name, why in result.skipped.items():
        lines.append(f"\n(skipped {name}: {why})")
    return "\n".join(lines) + "\n\n" + worst_line(result)
