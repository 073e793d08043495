#!/usr/bin/env python3
"""Time from `shieldrec` being started to its first screen painted, in a real pseudo-terminal.

Each run starts a fresh process (a profile imported in a temporary SHIELDREC_HOME) at
100x32; the app writes the time of its first paint to a probe file and exits. A bare
Textual app that paints one line is timed the same way in the same run, as the reference:
the difference is what ShieldRec itself adds before its first paint.

    .venv/bin/python scripts/bench_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_S = 1.5

REFERENCE = """
import json, os, time
from textual.app import App
from textual.widgets import Static

class Hello(App):
    def compose(self):
        yield Static("hello")
    def on_mount(self):
        self.call_after_refresh(self.painted)
    def painted(self):
        with open(os.environ["SHIELDREC_STARTUP_PROBE"], "w") as fh:
            json.dump({"at": time.time()}, fh)
        self.exit()

Hello().run()
"""


def timed_run(argv: list[str], env: dict[str, str], probe: Path, event: str = "at") -> float:
    """Seconds from spawning `argv` in a 100x32 pseudo-terminal to the `event` its probe reports."""
    probe.unlink(missing_ok=True)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 32, 100, 0, 0))

    def drain() -> None:  # a terminal that is never read would block the app's output
        try:
            while os.read(master, 65536):
                pass
        except OSError:
            pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    started = time.time()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO, close_fds=True)
    os.close(slave)
    try:
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    if not probe.exists():
        raise SystemExit(f"{argv[0]} never reported a first paint (exit code {proc.returncode})")
    return json.loads(probe.read_text())[event] - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="shieldrec-bench-") as tmp:
        home = Path(tmp) / "home"
        probe = Path(tmp) / "probe.json"
        env = {**os.environ, "SHIELDREC_HOME": str(home), "TERM": "xterm-256color", "HF_HUB_OFFLINE": "1",
               "SHIELDREC_STARTUP_PROBE": str(probe), "SHIELDREC_STARTUP_PROBE_EXIT": "1"}
        command = str(Path(sys.executable).parent / "shieldrec")  # the installed entry point, as users run it
        shieldrec = [command, "--profile", "maya"]
        subprocess.run([command, "profile", "import", "profiles/maya.toml"], env=env, cwd=REPO, check=True,
                       capture_output=True)
        reference = [sys.executable, "-c", REFERENCE]
        timed_run(shieldrec, env, probe)  # warm the OS file cache once; not counted
        ours, bare = [], []
        for _ in range(args.runs):  # interleaved, so both see the same machine load
            ours.append(timed_run(shieldrec, env, probe))
            bare.append(timed_run(reference, env, probe))
        # Not the first screen: when the profile is open and the embedding model loaded (in workers).
        ready_env = {**env, "SHIELDREC_STARTUP_PROBE_EXIT": "ready"}
        ready = [timed_run(shieldrec, ready_env, probe, "ready") for _ in range(min(3, args.runs))]

    def line(name: str, values: list[float]) -> str:
        med = statistics.median(values)
        return f"{name:<34} median {med:.3f} s   min {min(values):.3f} s   max {max(values):.3f} s"

    print(f"first paint, {args.runs} runs each, 100x32 pseudo-terminal, {os.cpu_count()} CPUs")
    print(line("shieldrec (maya, demo platform)", ours))
    print(line("reference: bare Textual app", bare))
    print(line("(models ready, for comparison)", ready))
    ratio = statistics.median(ours) / statistics.median(bare)
    print(f"first paint, ratio shieldrec / reference: {ratio:.2f}x   target: under {TARGET_S} s -> "
          f"{'met' if statistics.median(ours) < TARGET_S else 'NOT met'}")


if __name__ == "__main__":
    main()
