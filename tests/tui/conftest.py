"""Fixtures for the agent and the terminal app: the real demo platform on 127.0.0.1, the real
bundled embedding model (loaded once per session), maya's profile in a fresh store."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from shieldrec.ranking import Embedder
from shieldrec.settings import Settings
from shieldrec.store import Profile, Store, load_profile_file

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """One model for the whole session; each text is encoded once."""
    model = Embedder(device="cpu")
    model.encode(["warm up"])
    return model


@pytest.fixture
def settings() -> Settings:
    s = Settings()
    s.llm.enabled = False  # the language model is optional; these tests run without it
    return s


@pytest.fixture
def maya(store: Store) -> Profile:
    return store.import_profile(load_profile_file(REPO / "profiles" / "maya.toml"))


class JsonPlatform:
    """A real HTTP platform on 127.0.0.1 that answers every request with the same items."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        body = json.dumps({"items": items}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/items"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def json_platform() -> Iterator[Callable[[list[dict[str, Any]]], JsonPlatform]]:
    started: list[JsonPlatform] = []

    def start(items: list[dict[str, Any]]) -> JsonPlatform:
        platform = JsonPlatform(items)
        started.append(platform)
        return platform

    yield start
    for platform in started:
        platform.stop()


async def wait_for(pilot: Any, condition: Callable[[], bool], timeout: float = 90.0, what: str = "") -> None:
    """Let the app run until `condition` holds (workers, platforms and models take real time)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.05)


@pytest.fixture
def waiter() -> Callable[..., Awaitable[None]]:
    return wait_for


def screen_text(app: Any) -> str:
    """What the terminal shows, as text (from Textual's own SVG export of the screen)."""
    import html
    import re
    from collections import defaultdict

    svg = app.export_screenshot()
    rows: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for m in re.finditer(r'<text [^>]*?x="([\d.]+)" y="[\d.]+"[^>]*?clip-path="url\(#[^)]*-line-(\d+)\)">(.*?)</text>',
                         svg):
        rows[int(m.group(2))].append((float(m.group(1)), html.unescape(m.group(3)).replace("\xa0", " ")))
    lines = []
    for n in sorted(rows):
        line = ""
        for x, text in sorted(rows[n]):
            col = round(x / 12.2)
            line = line.ljust(col) + text
        lines.append(line.rstrip())
    return "\n".join(lines)
