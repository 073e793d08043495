"""Which weight should the language model's likelihood score get? MovieLens-100K decides.

    .venv/bin/python scripts/sweep_llm_weight.py [--users 300] [--seed 0] [--weights 0,0.05,0.1,0.2,0.5]
                                                 [--model bundled|PATH]

The same protocol as `shieldrec eval`, on a seeded sample of users. The model scores every
request once; the pipeline is then ranked once per weight from those remembered scores, so
the rows differ only in the weight (weight 0 is the pipeline without the model). The
default weight in `shieldrec/settings.py` is chosen from this table.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--weights", default="0,0.05,0.1,0.2,0.5")
    ap.add_argument("--model", default="bundled")
    args = ap.parse_args()
    weights = [float(w) for w in args.weights.split(",") if w.strip()]

    from shieldrec.eval import EvalContext
    from shieldrec.eval.metrics import METRICS, rank_of, summarize
    from shieldrec.eval.movielens import build_cases, load
    from shieldrec.llm.evaluation import likelihood_alone, pipeline_with_llm

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    ctx = EvalContext(seed=args.seed)
    ctx.settings.llm.model = args.model
    cases = build_cases(load(), users=args.users, seed=args.seed)
    requests = [c.request for c in cases]
    targets = [c.target for c in cases]
    print(f"MovieLens-100K: {len(cases)} users, seed {args.seed}, model {args.model}\n")

    def row(name: str, rankings: list[list[str]], seconds: float) -> str:
        metrics = summarize([rank_of(t, r) for r, t in zip(rankings, targets)])
        return f"| {name} | " + " | ".join(f"{metrics[m]:.4f}" for m in METRICS) + f" | {seconds:.1f} |"

    print("| method | " + " | ".join(METRICS) + " | seconds |")
    print("|---|" + "---:|" * (len(METRICS) + 1))
    start = time.perf_counter()
    alone = likelihood_alone(ctx)(requests)  # fills the remembered scores
    print(row("llm likelihood alone", alone, time.perf_counter() - start), flush=True)
    for weight in weights:
        ctx.settings.ranking.weights["llm"] = weight
        start = time.perf_counter()
        rankings = pipeline_with_llm(ctx)(requests)
        print(row(f"pipeline, llm weight {weight:g}", rankings, time.perf_counter() - start), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
