"""Crash safety: a process giving feedback is killed (SIGKILL: no cleanup, no flush) at random
moments, again and again. After every kill the file passes SQLite's integrity check and every
write the process had acknowledged is there."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from shieldrec.store import Store

KILLS = 10


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_while_writing_loses_no_acknowledged_write(home: Path, tools: Any) -> None:
    database = home / "data" / "profiles.db"
    rng = random.Random(12)
    total = 0
    for kill in range(KILLS):
        writer = tools.start_writer("maya", "feedback", seconds=120)
        assert writer.stdout is not None
        lines: list[str] = []
        # Kill at a random moment once it is writing: after a random number of acknowledgements,
        # plus a random fraction of the time between two of them.
        wanted = rng.randint(5, 60)
        deadline = time.monotonic() + 60
        while len(lines) < wanted and time.monotonic() < deadline:
            line = writer.stdout.readline()
            if not line:
                break
            lines.append(line)
        time.sleep(rng.random() * 0.01)
        os.kill(writer.pid, signal.SIGKILL)
        # Through the same buffered reader as the lines above: `communicate` would skip what it holds.
        lines += writer.stdout.read().splitlines()
        err = writer.stderr.read() if writer.stderr else ""
        writer.wait(timeout=30)
        writer.stdout.close()
        if writer.stderr:
            writer.stderr.close()
        assert writer.returncode == -signal.SIGKILL, err[-1000:]
        assert "Traceback" not in err, err[-2000:]

        conn = sqlite3.connect(database)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok", f"after kill {kill + 1}"
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            conn.close()
        acks = tools.acknowledged(lines)
        assert acks["event"], f"kill {kill + 1}: the writer acknowledged nothing"
        total += len(acks["event"]) + len(acks["pref"])
        store = Store(database)
        try:
            tools.check_acknowledged(store, store.profile("maya"), acks)
        finally:
            store.close()
    assert total >= KILLS * 5
