"""Fixtures for the platform tests: the real demo platform on 127.0.0.1, an in-memory keyring."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shieldrec.platforms.demo_catalog import Catalog
from shieldrec.platforms.demo_server import DemoServer


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """Loaded once: every demo server in the session shares it."""
    return Catalog.load(seed=0)


@pytest.fixture
def demo(catalog: Catalog) -> Iterator[DemoServer]:
    with DemoServer(catalog=catalog) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("SHIELDREC_TOKEN_"):
            monkeypatch.delenv(key)
