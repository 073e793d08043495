"""Run several methods on the same cases in one process and compare them."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shieldrec.errors import InvalidInput
from shieldrec.eval.methods import BASELINES, METHODS, PIPELINE, EvalContext, Method
from shieldrec.eval.metrics import METRICS, rank_of, summarize
from shieldrec.eval.movielens import Case

HEADLINE = "NDCG@10"


@dataclass
class MethodScore:
    name: str
    metrics: dict[str, float]
    seconds: float
    ranks: list[int] = field(repr=False, default_factory=list)


@dataclass
class Report:
    dataset: str
    users: int
    seed: int
    scores: list[MethodScore]

    def score(self, name: str) -> MethodScore | None:
        return next((s for s in self.scores if s.name == name), None)

    def beats(self, name: str = PIPELINE, metric: str = HEADLINE, others: Sequence[str] = BASELINES) -> dict[str, bool]:
        """For each of `others` in the run: whether `name` scored strictly higher on `metric`."""
        mine = self.score(name)
        if mine is None:
            return {}
        return {s.name: mine.metrics[metric] > s.metrics[metric] for s in self.scores if s.name in others}

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "users": self.users,
            "seed": self.seed,
            "methods": [{"name": s.name, **{k: round(v, 4) for k, v in s.metrics.items()},
                         "seconds": round(s.seconds, 2)} for s in self.scores],
            "pipeline_beats": self.beats(),
        }


def choose(names: Sequence[str] | None, default: Sequence[str] | None = None) -> list[str]:
    """The methods to run, in registry order (`default`, or every method, when none are named);
    unknown names are an error that lists the known ones."""
    if not names:
        return list(default) if default is not None else list(METHODS)
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise InvalidInput(f"unknown method(s) {', '.join(map(repr, unknown))}; known: {', '.join(METHODS)}")
    return [n for n in METHODS if n in names]


def evaluate(
    cases: Sequence[Case],
    names: Sequence[str],
    ctx: EvalContext,
    *,
    dataset: str = "",
    on_method: Callable[[str], None] | None = None,
) -> Report:
    requests = [c.request for c in cases]
    scores = []
    for name in names:
        method: Method = METHODS[name](ctx)
        if on_method is not None:
            on_method(name)
        started = time.perf_counter()
        rankings = method(requests)
        seconds = time.perf_counter() - started
        if len(rankings) != len(cases):
            raise InvalidInput(f"method {name!r} returned {len(rankings)} rankings for {len(cases)} requests")
        ranks = [rank_of(c.target, r) for c, r in zip(cases, rankings, strict=True)]
        scores.append(MethodScore(name, summarize(ranks), seconds, ranks))
    return Report(dataset=dataset, users=len(cases), seed=ctx.seed, scores=scores)


def format_table(report: Report) -> str:
    """A Markdown table (it reads as plain text too), then whether the pipeline beat every baseline."""
    head = ["method", *METRICS, "seconds"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for s in report.scores:
        cells = [s.name, *(f"{s.metrics[m]:.4f}" for m in METRICS), f"{s.seconds:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    text = f"{report.dataset}: {report.users} users, seed {report.seed}\n\n"
    text += "\n".join(lines)
    beats = report.beats()
    if beats:
        lost = [n for n, ok in beats.items() if not ok]
        verdict = "yes" if not lost else "no (not " + ", ".join(lost) + ")"
        text += f"\n\n{PIPELINE} beats every baseline on {HEADLINE}: {verdict}"
    return text + "\n(seconds: wall time on this machine; the first method to use the embedding model includes loading it)"
