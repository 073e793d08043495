"""Helpers for the fault tests: the real `shieldrec` command and the stand-in app writer,
each in its own process against the test's SHIELDREC_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
WRITER = HERE / "writer_child.py"


def shieldrec(*args: str, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a fresh process (the environment carries SHIELDREC_HOME)."""
    return subprocess.run(
        [sys.executable, "-c", "from shieldrec.cli import main; main()", *args],
        input=input, capture_output=True, text=True, timeout=timeout, env=dict(os.environ),
    )


def start_writer(profile: str, mode: str, seconds: float, pause: float = 0.0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), profile, mode, str(seconds), str(pause)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )


def acknowledged(lines: list[str]) -> dict[str, set[str]]:
    """From the writer's lines: the liked item ids and blocked values that must be there
    ("event", "pref"), the liked items that must be gone ("gone"), and those whose undo was
    cut short ("either")."""
    state: dict[str, set[str]] = {"event": set(), "pref": set(), "gone": set(), "either": set()}
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "ack" and parts[1] in ("event", "undo", "pref"):
            kind, ident = parts[1], parts[2]
            if kind == "event":
                state["event"].add(ident)
            elif kind == "undo":
                state["either"].discard(ident)
                state["gone"].add(ident)
            else:
                state["pref"].add(ident)
        elif len(parts) == 2 and parts[0] == "undoing":
            state["event"].discard(parts[1])
            state["either"].add(parts[1])
    return state


def check_acknowledged(store: "Store", profile: "Profile", acks: dict[str, set[str]]) -> None:  # noqa: F821
    """Every acknowledged write is there; every acknowledged undo is gone."""
    items = {ev.item.item_id for ev in store.history(profile)}
    blocked = {p.value for p in store.preferences(profile) if p.kind == "block"}
    assert acks["event"] <= items, f"acknowledged likes lost: {sorted(acks['event'] - items)[:10]}"
    assert not acks["gone"] & items, "acknowledged undos came back"
    assert acks["pref"] <= blocked, f"acknowledged blocks lost: {sorted(acks['pref'] - blocked)[:10]}"


@pytest.fixture
def home(shieldrec_home: Path, profiles_dir: Path) -> Path:
    """A SHIELDREC_HOME holding maya's profile, imported through the real command."""
    done = shieldrec("profile", "import", str(profiles_dir / "maya.toml"))
    assert done.returncode == 0, done.stderr
    return shieldrec_home


class Tools:
    """The helpers above, for test modules (which cannot import this conftest by name)."""

    shieldrec = staticmethod(shieldrec)
    start_writer = staticmethod(start_writer)
    acknowledged = staticmethod(acknowledged)
    check_acknowledged = staticmethod(check_acknowledged)


@pytest.fixture
def tools() -> type[Tools]:
    return Tools
