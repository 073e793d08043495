"""Shared fixtures: every test gets its own SHIELDREC_HOME, so nothing touches the user's real profile."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# The bundled models load from site-packages; nothing may reach for a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
PROFILES_DIR = REPO / "profiles"


@pytest.fixture(autouse=True)
def shieldrec_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "shieldrec-home"
    monkeypatch.setenv("SHIELDREC_HOME", str(home))
    return home


@pytest.fixture
def store(shieldrec_home: Path) -> Iterator["Store"]:  # noqa: F821
    from shieldrec.store import Store

    s = Store()
    yield s
    s.close()


@pytest.fixture
def profiles_dir() -> Path:
    return PROFILES_DIR
