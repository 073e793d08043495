"""Fixtures for the platform tests: the real demo platform on 127.0.0.1, an in-memory keyring."""

from __future__ import annotations


import pytest



@pytest.fixture(autouse=True)
def _no_token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("SHIELDREC_TOKEN_"):
            monkeypatch.delenv(key)
