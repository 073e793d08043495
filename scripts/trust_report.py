"""The figures behind SECURITY.md, measured the way an attacker and a careless user would try:

    .venv/bin/python scripts/trust_report.py [--kills N]

1. Hostile answers: `shieldrec platform test` (the real command, its own process) against a
   local server sending each attack; peak resident memory and wall time of that process,
   against the same command on an honest answer in the same run.
2. Crash safety: the app's feedback path in a child process, SIGKILLed at random moments N
   times; acknowledged writes, lost writes, integrity checks.
3. Concurrency: the command line importing, creating and adding while the app's feedback path
   writes the same profile from another process; failures and tracebacks.
4. What leaves the machine for the instructions that leaked before.

Prints markdown tables. Every part runs against a fresh SHIELDREC_HOME.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WRITER = REPO / "tests" / "faults" / "writer_child.py"  # the stand-in app writer the fault tests use
MB = 1024 * 1024
CLI = [sys.executable, "-c", "from shieldrec.cli import main; main()"]


def gzip_of_zeros(total: int) -> bytes:
    block = bytes(16 * MB)
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    return first + again * (total // len(block) - 1) + packer.flush()


def _stream(chunk: bytes, total: int) -> Any:
    sent = 0
    while sent < total:
        yield chunk
        sent += len(chunk)


def _laughs() -> bytes:
    entities = '<!ENTITY a "hahahahahahahahahaha">' + "".join(
        f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in zip("abcdefgh", "bcdefghi"))
    return (f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]><rss version="2.0"><channel><title>t</title>'
            "<item><title>&i;</title></item></channel></rss>").encode()


def attacks() -> dict[str, tuple[str, dict[str, str], Any]]:
    """path -> (adapter, headers, body: bytes or a function making a stream)."""
    item = b"<item><title>Episode</title><description>" + b"words " * 150 + b"</description></item>"
    return {
        "/honest": ("http-json", {}, json.dumps({"items": [{"id": "1", "title": "An honest answer"}]}).encode()),
        "/gzip-gzip-10gib": ("http-json", {"Content-Encoding": "gzip, gzip"},
                             gzip.compress(gzip_of_zeros(10 * 1024 * MB))),
        "/gzip-1gib": ("http-json", {"Content-Encoding": "gzip"}, gzip_of_zeros(1024 * MB)),
        "/rss-gzip-gzip-10gib": ("rss", {"Content-Encoding": "gzip, gzip"}, gzip.compress(gzip_of_zeros(10 * 1024 * MB))),
        "/100mb": ("http-json", {}, lambda: _stream(b'{"items": [' + b" " * 65525, 100 * MB)),
        "/deep-10000": ("http-json", {}, b'{"items": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"),
        "/rss-50mb": ("rss", {}, lambda: _stream(item, 50 * MB)),
        "/rss-billion-laughs": ("rss", {}, _laughs()),
        "/trickle": ("http-json", {}, lambda: (time.sleep(1) or b" " for _ in range(10**6))),
    }


class Server:
    def __init__(self, routes: dict[str, tuple[str, dict[str, str], Any]]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                _, headers, body = routes[self.path.split("?")[0]]
                self.send_response(200)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                if isinstance(body, bytes):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for chunk in [body] if isinstance(body, bytes) else body():
                        self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"


def run_measured(args: list[str], env: dict[str, str], timeout: float = 120) -> tuple[int, str, float, float]:
    """(exit code, stderr's last line, peak RSS in MB, seconds) of one command in its own process."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    lines = [line for line in (err or out).strip().splitlines() if line.strip()]
    return proc.returncode, (lines[-1] if lines else ""), usage.ru_maxrss / 1024, time.perf_counter() - started


def fresh_home() -> dict[str, str]:
    return {**os.environ, "SHIELDREC_HOME": tempfile.mkdtemp(prefix="shieldrec-trust-")}


def hostile_answers() -> None:
    routes = attacks()
    server = Server(routes)
    env = fresh_home()
    subprocess.run([*CLI, "profile", "create", "me"], env=env, check=True, capture_output=True)
    print("| answer | exit | what the user sees | peak RSS | wall |")
    print("|---|---:|---|---:|---:|")
    for path, (adapter, _, _) in routes.items():
        name = path.strip("/")
        subprocess.run([*CLI, "platform", "add", name, "--adapter", adapter, "--set", f"url={server.base}{path}",
                        "--set", "retries=0"], env=env, check=True, capture_output=True)
        code, line, rss, wall = run_measured([*CLI, "platform", "test", name, "space", "--timeout", "10"], env)
        if code == 0:
            line = "answered (items listed)"
        print(f"| {name} | {code} | {line.replace('|', '/')[:110]} | {rss:.0f} MB | {wall:.1f} s |")
    server.httpd.shutdown()


def crash_safety(kills: int) -> None:
    env = fresh_home()
    subprocess.run([*CLI, "profile", "import", str(REPO / "profiles" / "maya.toml")], env=env, check=True,
                   capture_output=True)
    database = Path(env["SHIELDREC_HOME"]) / "data" / "profiles.db"
    rng = random.Random(7)
    acked = lost = checks_ok = 0
    for _ in range(kills):
        writer = subprocess.Popen([sys.executable, str(WRITER), "maya", "feedback", "120"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env)
        lines: list[str] = []
        for _ in range(rng.randint(5, 120)):
            line = writer.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            lines.append(line)
        time.sleep(rng.random() * 0.01)
        os.kill(writer.pid, signal.SIGKILL)
        lines += writer.stdout.read().splitlines()  # type: ignore[union-attr]  # the buffered rest too
        writer.wait()
        conn = sqlite3.connect(database)
        checks_ok += conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        present = {r[0] for r in conn.execute("SELECT item_id FROM history")}
        blocked = {r[0] for r in conn.execute("SELECT value FROM preferences WHERE kind = 'block'")}
        conn.close()
        undoing = {line.split()[1] for line in lines if line.startswith("undoing ")}
        for line in lines:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "ack" and parts[1] in ("event", "pref"):
                acked += 1
                if parts[1] == "event" and parts[2] not in present and parts[2] not in undoing:
                    lost += 1
                if parts[1] == "pref" and parts[2] not in blocked:
                    lost += 1
    print(f"| SIGKILLs | acknowledged writes | lost | integrity_check ok |\n|---:|---:|---:|---:|\n"
          f"| {kills} | {acked:,} | {lost} | {checks_ok}/{kills} |")


def concurrency(rounds: int) -> None:
    env = fresh_home()
    subprocess.run([*CLI, "profile", "import", str(REPO / "profiles" / "maya.toml")], env=env, check=True,
                   capture_output=True)
    writer = subprocess.Popen([sys.executable, str(WRITER), "maya", "feedback", "600", "0.01"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(1.0)
    runs = failures = tracebacks = 0
    slowest = 0.0
    for n in range(rounds):
        for args in (["profile", "add", "like", f"topic {n}", "--profile", "maya"],
                     ["profile", "import", str(REPO / "profiles" / "sam.toml"), "--name", f"sam-{n}"],
                     ["profile", "create", f"guest-{n}"]):
            started = time.perf_counter()
            done = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True)
            slowest = max(slowest, time.perf_counter() - started)
            runs += 1
            failures += done.returncode != 0
            tracebacks += "Traceback" in done.stderr
    writer.terminate()
    _, err = writer.communicate()
    print("| commands run against a busy writer | failed | tracebacks | slowest | writer tracebacks |\n"
          "|---:|---:|---:|---:|---:|\n"
          f"| {runs} | {failures} | {tracebacks} | {slowest:.1f} s | {int('Traceback' in err)} |")


def private_words() -> None:
    from shieldrec.platforms import plan_query

    print("| typed | sent to the platforms |\n|---|---|")
    for typed in ("a book for Zorbulonne who turns 40 next week",
                  "a gift for Brennafox's 9th birthday, something with dragons",
                  "para mi hija Ximenorra de 9 años, le encantan los dinosaurios",
                  "something hopeful for my daughter who is 9, no horror",
                  "I'm feeling low after my divorce, a funny movie, not by Adam Sandler"):
        query = plan_query(typed)
        print(f"| {typed} | \u201c{query.text}\u201d{' (kind: ' + query.kind + ')' if query.kind else ''} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    print(f"# trust report ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs)\n")
    for title, part in (("Hostile answers", hostile_answers), ("Crash safety", lambda: crash_safety(args.kills)),
                        ("Concurrency", lambda: concurrency(args.rounds)), ("What leaves the machine", private_words)):
        print(f"## {title}\n")
        started = time.perf_counter()
        part()
        print(f"\n({time.perf_counter() - started:.0f} s)\n")


if __name__ == "__main__":
    main()
