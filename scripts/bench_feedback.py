"""What a like costs as the history grows: the app's feedback path (history event, learned
memory, undo) on a profile with 3,000 history entries, against the same on an empty profile,
in the same run.

    .venv/bin/python scripts/bench_feedback.py [likes]

Histories: "varied" spreads 3,000 events over the demo catalogue's real genres and creators;
"worst case" gives every event the genre the liked item has, so learning must weigh all 3,000.
The first like after an import indexes the history once; it is timed separately.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time

os.environ.setdefault("SHIELDREC_HOME", tempfile.mkdtemp(prefix="shieldrec-bench-"))

from shieldrec.agent import AgentSession  # noqa: E402
from shieldrec.items import Item  # noqa: E402
from shieldrec.platforms.demo_catalog import Catalog  # noqa: E402
from shieldrec.settings import Settings  # noqa: E402
from shieldrec.store import Store  # noqa: E402

HISTORY = 3000


def history_doc(name: str, entries: list[Item], rng: random.Random) -> dict:
    events = []
    for n, item in enumerate(entries):
        event = rng.choice(["liked", "liked", "disliked", "consumed", "not_now"])
        events.append({"item": item.to_dict(), "event": event, "at": 1.7e9 + n})
    return {"profile": {"name": name}, "history": events}


def time_likes(store: Store, names: tuple[str, str], liked: list[Item]) -> list[tuple[float, float]]:
    """(first like, median like) for each profile, their likes interleaved so that the machine's
    noise (each like ends in a commit, an fsync) hits both alike."""
    sessions = [AgentSession(store, store.profile(n), Settings(), embedder=None) for n in names]
    firsts = []
    for session in sessions:
        t = time.perf_counter()
        session.undo(session.like(liked[0]))
        firsts.append(time.perf_counter() - t)
    times: list[list[float]] = [[], []]
    for item in liked[1:]:
        for n, session in enumerate(sessions):
            t = time.perf_counter()
            token = session.like(item)
            times[n].append(time.perf_counter() - t)
            session.undo(token)
    return [(first, statistics.median(ts)) for first, ts in zip(firsts, times)]


def main(likes: int) -> None:
    rng = random.Random(0)
    catalog = Catalog.load(seed=0)
    pool = [Item(item_id=e.id, title=e.title, creator=e.creator, meta={"genres": list(e.genres)})
            for e in catalog.by_id.values() if not e.hostile]
    store = Store()
    varied = [rng.choice(pool) for _ in range(HISTORY)]
    varied = [Item(**{**it.to_dict(), "item_id": f"{it.item_id}-{n}"}) for n, it in enumerate(varied)]
    worst = [Item(item_id=f"w{n}", title=f"Old favourite {n}", creator=f"Creator {n % 40}",
                  meta={"genres": ["Drama", f"tag {n % 25}"]}) for n in range(HISTORY)]
    store.create_profile("empty")
    store.import_profile(history_doc("varied", varied, rng))
    store.import_profile(history_doc("worst", worst, rng))
    liked = [rng.choice(pool) for _ in range(likes + 1)]
    worst_liked = [Item(item_id=f"x{n}", title=f"New {n}", creator="Creator 3", meta={"genres": ["Drama"]})
                   for n in range(likes + 1)]

    (_, empty_v), (first_v, varied_ms) = time_likes(store, ("empty", "varied"), liked)
    (_, empty_w), (first_w, worst_ms) = time_likes(store, ("empty", "worst"), worst_liked)
    store.close()
    print(f"history: {HISTORY} entries; likes timed: {likes} each (like, then undo, as the app does)")
    print(f"varied history: like {varied_ms * 1000:.2f} ms vs {empty_v * 1000:.2f} ms on an empty profile "
          f"({varied_ms / empty_v:.2f}x); first like after the import {first_v * 1000:.0f} ms (indexes the history)")
    print(f"worst case, every entry shares the liked genre: {worst_ms * 1000:.2f} ms vs {empty_w * 1000:.2f} ms "
          f"({worst_ms / empty_w:.2f}x); first like {first_w * 1000:.0f} ms")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("likes", nargs="?", type=int, default=50, help="how many to time (default 50)")
    args = parser.parse_args()
    main(args.likes)
