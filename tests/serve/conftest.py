"""The real service: uvicorn on a free loopback port (bound first, held until uvicorn takes it),
real httpx clients, a fresh profile database per test."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shieldrec.serve.run import bind_loopback, server
from shieldrec.serve.service import Service
from shieldrec.settings import Settings
from shieldrec.store import Profile, Store

TOKEN = "test-token-0123456789-abcdefghij"


@dataclass
class Running:
    url: str
    port: int
    service: Service

    def client(self, token: str | None = TOKEN, headers: dict[str, str] | None = None) -> httpx.Client:
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers={**auth, **(headers or {})}, timeout=60)


@contextmanager
def running_service(store: Store, profile: Profile | None, settings: Settings | None = None) -> Iterator[Running]:
    sock = bind_loopback("127.0.0.1", 0)
    port = sock.getsockname()[1]
    service = Service(store, profile, settings or Settings())
    srv = server(service, sock, TOKEN)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not srv.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the service did not start"
            time.sleep(0.02)
        running = Running(f"http://127.0.0.1:{port}", port, service)
        with running.client(None) as c:  # the models load once per process; wait for them
            while c.get("/v1/health").json()["status"] == "loading":
                assert time.monotonic() < deadline, "the models did not load"
                time.sleep(0.05)
        yield running
    finally:
        srv.should_exit = True
        thread.join(60)
        sock.close()


@pytest.fixture
def maya(store: Store, profiles_dir: Path) -> Profile:
    from shieldrec.store import load_profile_file

    return store.import_profile(load_profile_file(profiles_dir / "maya.toml"))


@pytest.fixture
def service(store: Store, maya: Profile) -> Iterator[Running]:
    with running_service(store, maya) as running:
        yield running


@pytest.fixture
def start(store: Store) -> Callable[..., object]:
    """Start another service (other settings, no profile) inside a test."""
    return lambda profile=None, settings=None: running_service(store, profile, settings)
