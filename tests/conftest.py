"""Shared fixtures: every test gets its own SHIELDREC_HOME, so nothing touches the user's real profile."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

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
    monkeypatch.delenv("SHIELDREC_BOOKS_CSV", raising=False)  # the demo serves its bundled books
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


class MemoryKeyring(KeyringBackend):
    """A real keyring backend that keeps secrets in a dict (this machine has no system keyring)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.secrets:
            raise PasswordDeleteError("not found")
        del self.secrets[(service, username)]


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def catalog() -> "Catalog":  # noqa: F821
    """The demo platform's catalogue, loaded once: every demo server in the session shares it."""
    from shieldrec.platforms.demo_catalog import Catalog

    return Catalog.load(seed=0)


@pytest.fixture
def demo(catalog: "Catalog") -> Iterator["DemoServer"]:  # noqa: F821
    """The real demo platform on 127.0.0.1, on a free port."""
    from shieldrec.platforms.demo_server import DemoServer

    with DemoServer(catalog=catalog) as server:
        yield server


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201
    """In CI a skipped `llm` test is a failure: a green run must have run the model."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") and item.get_closest_marker("llm") is not None:
        report.outcome = "failed"
        report.longrepr = f"an llm test was skipped in CI: {report.longrepr}"
