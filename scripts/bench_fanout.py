"""What the wall costs: a fan-out to the demo platform against bare HTTP requests, same run.

    .venv/bin/python scripts/bench_fanout.py [rounds]

Reference: the same two requests (movies, books) sent concurrently with a bare httpx client,
no audit, no parsing; one client made beforehand, without keep-alive, as the fan-out opens
its connections afresh (a kept-alive connection to the demo server would add delayed-ACK
stalls to the reference alone, and a new client per round would add its TLS set-up). Measured: `fan_out` (audit written before and after each request,
size-capped streaming, JSON checks, field mapping, sanitizing, merging). Also: plan_query.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("SHIELDREC_HOME", tempfile.mkdtemp(prefix="shieldrec-bench-"))

import httpx  # noqa: E402

from shieldrec.platforms import ensure_demo_platform, fan_out, plan_query  # noqa: E402
from shieldrec.store import Store  # noqa: E402

INSTRUCTION = "something hopeful about robots and space for my daughter who is 9, no horror"


async def bare(client: httpx.AsyncClient, url: str, query: str) -> None:
    await asyncio.gather(*(client.get(f"{url}/v1/recommend", params={"q": query, "limit": 20, "section": s})
                           for s in ("movies", "books")))


async def main(rounds: int) -> None:
    store = Store()
    profile = store.create_profile("bench")
    server = ensure_demo_platform(store, profile)
    server.catalog()
    query = plan_query(INSTRUCTION, None, 20)
    ref, ours = [], []
    async with httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0)) as client:
        await bare(client, server.url, query.text)
        await fan_out(store, profile, query)
        for _ in range(rounds):  # interleaved, so machine noise hits both alike
            t = time.perf_counter()
            await bare(client, server.url, query.text)
            ref.append(time.perf_counter() - t)
            t = time.perf_counter()
            result = await fan_out(store, profile, query)
            ours.append(time.perf_counter() - t)
    server.stop()
    t = time.perf_counter()
    for _ in range(1000):
        plan_query(INSTRUCTION, None, 20)
    plan_us = (time.perf_counter() - t) * 1000

    r, o = statistics.median(ref), statistics.median(ours)
    print(f"rounds: {rounds}; platforms: 2 (demo movies + books, 20 items each); items merged: {len(result.items)}")
    print(f"bare httpx, 2 concurrent requests:  median {r * 1000:7.1f} ms")
    print(f"fan_out (audit, caps, sanitize):    median {o * 1000:7.1f} ms")
    print(f"ratio fan_out / bare:               {o / r:7.2f}x   (overhead {(o - r) * 1000:.1f} ms)")
    print(f"plan_query:                         {plan_us:7.1f} us per instruction")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rounds", nargs="?", type=int, default=30, help="how many to time (default 30)")
    args = parser.parse_args()
    asyncio.run(main(args.rounds))
