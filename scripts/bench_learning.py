"""What learning from feedback costs: one profile update for 100 / 1,000 / 5,000 feedback events.

    .venv/bin/python scripts/bench_learning.py [--sizes 100,1000,5000] [--repeat 3]

Each profile gets N feedback events on MovieLens-100K movies (real ratings of real users,
drawn with a fixed seed; 4+ liked, 2 or less disliked, 3 rated). Printed per size:
- fit: the gradient steps alone (personal.fit over every comparison the events give), the
  part that grows with the profile, on the CPU and, where torch sees one, on the GPU;
- update: the whole background update with every text already embedded, after one more like
  (the learner keeps the lists it replayed: only the new one is replayed; then the fit, the
  facets, the writes), and with every list replayed (the first update after a start);
- the reference: ranking one 20-candidate request with the same pipeline, in the same run,
  so the figures read as ratios on a busy machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100,1000,5000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    os.environ["SHIELDREC_HOME"] = tempfile.mkdtemp(prefix="bench-learning-")

    import numpy as np
    import torch

    from shieldrec.eval import movielens as ML
    from shieldrec.items import HistoryEvent
    from shieldrec.learning import examples, personal
    from shieldrec.learning.update import replay, update
    from shieldrec.ranking import Embedder, Pipeline
    from shieldrec.ranking.features import FEATURES
    from shieldrec.ranking.semantic import item_text
    from shieldrec.ranking.types import RankRequest
    from shieldrec.settings import Settings
    from shieldrec.store import Store

    ml = ML.load()
    items = {m.item_id: ML.movie_item(m, ml.counts[m.item_id]) for m in ml.movies.values()}
    ratings = [(r.item_id, r.rating) for rs in ml.ratings.values() for r in rs]
    rng = np.random.default_rng(0)
    store = Store()
    embedder = Embedder(cache=store.embeddings, device="cpu")
    settings = Settings()
    pipeline = Pipeline(settings.ranking, embedder)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; devices: {', '.join(devices)}")

    request = RankRequest(candidates=list(items.values())[:20], history=[], request_id="ref")
    for size in [int(s) for s in args.sizes.split(",")]:
        p = store.create_profile(f"bench-{size}")
        for k, i in enumerate(rng.choice(len(ratings), size=size, replace=False)):
            item_id, rating = ratings[i]
            kind = "liked" if rating >= 4 else "disliked" if rating <= 2 else "rated"
            store.add_event(p, HistoryEvent(item=items[item_id], event=kind,
                                            rating=rating if kind == "rated" else None, at=1.0e9 + k))
        update(store, p, embedder, settings)  # embeds every text once: what follows is warm
        history = store.history(p)
        request.history = history[-200:]
        lists = examples.build(history, [], [])
        feats, scores = replay(pipeline, lists)
        triples = []
        for j, (ids, x), s in zip(lists, feats, scores):
            g = np.asarray([j.gains.get(i, 0.0) for i in ids], dtype=np.float32)
            triples.append((x, s, g))
        pairs = personal.pairs(triples)
        fits = {}
        for device in devices:
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                personal.fit(pairs, len(FEATURES), device=device)
                times.append(time.perf_counter() - started)
            fits[device] = statistics.median(times) * 1000
        pipeline.rank(request)  # the reference, warm
        full, step, ref = [], [], []
        for r in range(args.repeat):
            started = time.perf_counter()
            update(store, p, embedder, settings)  # every list replayed (the first update after a start)
            full.append(time.perf_counter() - started)
            cache: dict = {}
            update(store, p, embedder, settings, cache)
            item_id, rating = ratings[int(rng.integers(len(ratings)))]
            embedder.encode([item_text(items[item_id])])  # a liked item was on screen: its text is known
            store.add_event(p, HistoryEvent(item=items[item_id], event="liked", at=2.0e9 + r))
            started = time.perf_counter()
            update(store, p, embedder, settings, cache)  # one more like: what an update after feedback costs
            step.append(time.perf_counter() - started)
            started = time.perf_counter()
            pipeline.rank(request)
            ref.append(time.perf_counter() - started)
        ref_ms = statistics.median(ref) * 1000
        full_ms, step_ms = statistics.median(full) * 1000, statistics.median(step) * 1000
        fit_text = ", ".join(f"{d} {ms:.2f} ms" for d, ms in fits.items())
        print(f"{size:>5} events: {len(lists)} lists, {pairs.count} comparisons; fit ({personal.STEPS} steps): "
              f"{fit_text}; update after one more like {step_ms:.0f} ms, replaying every list {full_ms:.0f} ms; "
              f"reference: one 20-candidate ranking with 200 history items {ref_ms:.1f} ms (fit = "
              f"{fits['cpu'] / ref_ms:.3f} rankings, update after a like = {step_ms / ref_ms:.1f})")
    store.close()


if __name__ == "__main__":
    main()
