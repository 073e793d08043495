"""How much public counts should count: the suite's NDCG@10 and a "hopeful" answer, per setting.

    .venv/bin/python scripts/sweep_popularity.py [--values 0 0.25 0.5 0.75 1] [--users N]

For each value of `[ranking] popularity` (0: public counts ignored; 1: as much as they
predicted in training) it prints the learned ranker's NDCG@10 on each data set of the suite
(test users) and, on the bundled demo platform, how many of maya's top 10 for "something
hopeful" are in the most-rated quarter of the candidates their platform sent (10 would be
the platforms' bestseller lists; an answer blind to counts holds about 2.5). The default in
settings.py is the value this prints as chosen: the best mean NDCG@10 among the values whose
hopeful answer holds at most BESTSELLERS of them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
BESTSELLERS = 5  # half the answer


def hopeful_overlap(values: list[float]) -> dict[float, tuple[int, list[str]]]:
    """Per value: bestsellers in maya's top 10 for "something hopeful", and that top 10's titles."""
    os.environ["SHIELDREC_HOME"] = tempfile.mkdtemp(prefix="shieldrec-sweep-")
    from shieldrec.agent import AgentSession
    from shieldrec.platforms import ensure_demo_platform, fan_out, plan_query
    from shieldrec.platforms.demo_server import DemoServer
    from shieldrec.ranking import Embedder, facts
    from shieldrec.ranking.constraints import parse_instruction
    from shieldrec.settings import Settings
    from shieldrec.store import Store, load_profile_file

    store = Store()
    maya = store.import_profile(load_profile_file(REPO / "profiles" / "maya.toml"))
    embedder = Embedder(device="auto")
    out = {}
    text = "something hopeful"
    for value in values:
        # A fresh demo platform for each value: it answers its first request the same every time.
        with DemoServer() as server:
            ensure_demo_platform(store, maya, server)
            settings = Settings()
            settings.llm.enabled = False
            settings.ranking = replace(settings.ranking, popularity=value)
            session = AgentSession(store, maya, settings, embedder=embedder)
            turn = asyncio.run(session.ask(text))
            pool = asyncio.run(fan_out(store, maya, plan_query(text, parse_instruction(text),
                                                              limit=session.candidates))).items
            bar: dict[str, float] = {}
            for source in {i.source for i in pool}:  # counts compare within a platform only
                mine = sorted((facts.popularity_count(i) or 0 for i in pool if i.source == source), reverse=True)
                bar[source] = mine[max(1, len(mine) // 4) - 1]
            shown = [c.item for c in turn.cards[:10]]
            rated = [i for i in shown if (facts.popularity_count(i) or -1) >= bar.get(i.source, float("inf"))]
            out[value] = (len(rated), [i.title for i in shown])
    store.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--values", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0])
    ap.add_argument("--users", type=int, default=None, help="test users per data set (default: the suite's)")
    ap.add_argument("--data", default=None)
    args = ap.parse_args()

    demo = hopeful_overlap(args.values)
    from shieldrec.eval import suite
    from shieldrec.eval.methods import LEARNED, EvalContext
    from shieldrec.paths import ensure_dir, get_paths
    from shieldrec.settings import Settings

    vectors = Path(os.environ.get("SHIELDREC_EVAL_VECTORS", "")) if os.environ.get("SHIELDREC_EVAL_VECTORS") \
        else ensure_dir(get_paths().cache) / "eval-vectors.db"
    rows = []
    embedder = None
    for value in args.values:
        settings = Settings()
        settings.ranking = replace(settings.ranking, popularity=value)
        ctx = EvalContext(settings=settings, vectors=vectors, _embedder=embedder)
        results = suite.run(list(suite.DATASETS), [LEARNED], ctx, users=args.users, data=args.data,
                            on_progress=lambda m: print(m, file=sys.stderr, flush=True))
        embedder = ctx.embedder
        scores = {r.dataset: r.report.scores[0].metrics["NDCG@10"] for r in results}
        rows.append((value, scores, demo[value][0]))
    names = list(suite.DATASETS)
    print("| popularity | " + " | ".join(names) + " | mean | most-rated quarter in the hopeful top 10 |")
    print("|---:|" + "---:|" * (len(names) + 2))
    for value, scores, overlap in rows:
        mean = sum(scores.values()) / len(scores)
        print(f"| {value:g} | " + " | ".join(f"{scores[n]:.4f}" for n in names) + f" | {mean:.4f} | {overlap} |")
    allowed = [(sum(s.values()) / len(s), v) for v, s, o in rows if o <= BESTSELLERS]
    if allowed:
        print(f"\nchosen: popularity = {max(allowed)[1]:g} (best mean NDCG@10 with at most {BESTSELLERS} "
              f"of the most-rated quarter in the hopeful top 10)")
    for value in args.values:
        print(f"hopeful top 10 at {value:g}: {'; '.join(demo[value][1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
