"""Fixtures for the platform tests: the real demo platform on 127.0.0.1, an in-memory keyring."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from shieldrec.platforms.demo_catalog import Catalog
from shieldrec.platforms.demo_server import DemoServer


class MemoryKeyring(KeyringBackend):
    """A real keyring backend that keeps secrets in a dict (a test backend, not a mock of ours)."""

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


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """Loaded once: every demo server in the session shares it."""
    return Catalog.load(seed=0)


@pytest.fixture
def demo(catalog: Catalog) -> Iterator[DemoServer]:
    with DemoServer(catalog=catalog) as server:
        yield server


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def _no_token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("SHIELDREC_TOKEN_"):
            monkeypatch.delenv(key)
