"""Egress behind a proxy, and a platform's spent request budget, against real servers on 127.0.0.1.

The proxy here is a real forward HTTP proxy as far as the client can tell: it takes absolute-URI requests
(and CONNECT) and answers them itself, so a request for a name that exists nowhere (platform.example) is
answered without any internet, and each request line is recorded.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shieldrec.errors import PlatformError
from shieldrec.platforms import Egress, Query
from shieldrec.platforms.demo import DemoAdapter
from shieldrec.platforms.demo_server import DemoServer
from shieldrec.platforms.egress import LOOPBACK_ROUTES, Limits, proxy_routes
from shieldrec.store import Store

pytestmark = pytest.mark.slow  # real servers

MARKER = b'{"answered_by": "the proxy"}'
ONCE = Limits(retries=0, connect_timeout=3.0, read_timeout=5.0)


class _Server:
    """A threading http.server on 127.0.0.1 whose answers a test decides; every request line is kept."""

    def __init__(self, answer: Any) -> None:
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return None

            def _handle(self) -> None:
                owner.requests.append(self.requestline)
                status, headers, body = answer(self)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_CONNECT = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> _Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)


def _proxy_answer(handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
    if handler.command == "CONNECT":
        return 403, {}, b""  # a proxy that tunnels nowhere
    return 200, {"Content-Type": "application/json"}, MARKER


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """None of the developer's proxy settings (any case) reach these tests."""
    for key in list(os.environ):
        if key.lower().endswith("_proxy") or key == "REQUEST_METHOD":
            monkeypatch.delenv(key)


@pytest.fixture
def proxy() -> Iterator[_Server]:
    with _Server(_proxy_answer) as server:
        yield server


async def test_a_platform_is_asked_through_the_environments_proxy(
    store: Store, proxy: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    async with Egress(store) as egress:
        response = await egress.send("p", "GET", "http://platform.example/feed", limits=ONCE)
    assert response.status == 200 and response.body == MARKER
    assert proxy.requests == ["GET http://platform.example/feed HTTP/1.1"]
    (entry,) = store.audit.entries()
    assert entry.url == "http://platform.example/feed" and entry.status == 200


async def test_the_proxied_route_is_cached_like_the_direct_one(
    store: Store, proxy: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", proxy.url.removeprefix("http://"))  # lower case, no scheme: as curl takes it
    cached = Limits(retries=0, cache_for=60)
    async with Egress(store) as egress:
        first = await egress.send("p", "GET", "http://platform.example/feed", limits=cached)
        second = await egress.send("p", "GET", "http://platform.example/feed", limits=cached)
    assert first.body == second.body == MARKER
    assert len(proxy.requests) == 1  # the second answer came from the cache, not through the proxy
    assert [e.cache for e in store.audit.entries()] == ["stored", "hit"]


async def test_all_proxy_covers_https_and_a_refusing_proxy_is_a_clear_error(
    store: Store, proxy: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALL_PROXY", proxy.url)
    async with Egress(store) as egress:
        with pytest.raises(PlatformError, match="^p: the proxy from the environment refused or failed the request$"):
            await egress.send("p", "GET", "https://platform.example/feed", limits=ONCE)
    assert proxy.requests == ["CONNECT platform.example:443 HTTP/1.1"]
    (entry,) = store.audit.entries()
    assert entry.error == "the proxy refused the request"


async def test_no_proxy_sends_a_host_straight_to_the_platform(
    store: Store, proxy: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost, .platform.example")
    started = time.monotonic()
    async with Egress(store) as egress:
        # platform.example exists nowhere: asked directly, it cannot be reached, and that is said plainly.
        with pytest.raises(PlatformError, match=r"^p: (connection failed \(ConnectError\)|could not connect within)"):
            await egress.send("p", "GET", "http://platform.example/feed", limits=ONCE)
        with pytest.raises(PlatformError, match=r"^p: (connection failed|could not connect)"):
            await egress.send("p", "GET", "http://www.platform.example/feed", limits=ONCE)
        # A name NO_PROXY does not cover still goes through the proxy.
        assert (await egress.send("p", "GET", "http://other.example/feed", limits=ONCE)).body == MARKER
    assert proxy.requests == ["GET http://other.example/feed HTTP/1.1"]
    assert time.monotonic() - started < 20


async def test_no_proxy_star_turns_the_proxy_off(store: Store, proxy: _Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("no_proxy", "*")
    assert proxy_routes() == {}
    async with Egress(store) as egress:
        with pytest.raises(PlatformError, match=r"^p: (connection failed|could not connect)"):
            await egress.send("p", "GET", "http://platform.example/feed", limits=ONCE)
    assert proxy.requests == []


async def test_the_local_demo_platform_is_never_proxied(
    store: Store, proxy: _Server, demo: DemoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("ALL_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "")  # nothing exempted by the user: loopback is exempt regardless
    async with Egress(store) as egress:
        items = await DemoAdapter("p", {"base_url": demo.url}, egress).recommend(Query("space", 5))
    assert len(items) == 5 and demo.request_log
    assert proxy.requests == []


def test_loopback_is_exempt_whatever_no_proxy_says(monkeypatch: pytest.MonkeyPatch) -> None:
    routes = proxy_routes({"http": "proxy.corp:3128", "https": "http://u:pw@proxy.corp:3128", "no": "intra.corp"})
    assert routes["http://"] == "http://proxy.corp:3128" and routes["https://"] == "http://u:pw@proxy.corp:3128"
    assert routes["all://*intra.corp"] is None
    assert all(routes[route] is None for route in LOOPBACK_ROUTES)
    assert proxy_routes({"no": "example.com"}) == {}  # no proxy, no routes


async def test_an_unusable_proxy_is_a_clear_error_and_nothing_is_sent(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "ftp://secret-user:secret-pw@proxy.corp:21")
    async with Egress(store) as egress:
        unusable = "^p: the proxy 'ftp://proxy.corp:21' from the environment cannot be used"
        with pytest.raises(PlatformError, match=unusable) as caught:
            await egress.send("p", "GET", "http://platform.example/feed", limits=ONCE)
    assert "secret" not in str(caught.value)
    assert store.audit.entries() == []


# -- a platform's spent request budget (Reddit's x-ratelimit-* headers) ---------------------


def _budget_server(remaining: str, reset: str, status: int = 200) -> _Server:
    def answer(handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "application/json", "x-ratelimit-used": "100",
                   "x-ratelimit-remaining": remaining, "x-ratelimit-reset": reset}
        return status, headers, json.dumps({"ok": True}).encode()

    return _Server(answer)


async def test_a_spent_budget_stops_requests_until_its_reset(store: Store) -> None:
    with _budget_server("0.0", "42") as server:
        async with Egress(store) as egress:
            first = await egress.send("p", "GET", f"{server.url}/r/all.json", limits=ONCE)
            assert first.status == 200 and first.budget_reset == 42  # the last answer the budget allowed is used
            with pytest.raises(PlatformError, match=r"^p: rate limited, retry after 4[12] s \(nothing was sent\)$"):
                await egress.send("p", "GET", f"{server.url}/r/all.json", limits=ONCE)
        assert len(server.requests) == 1
    # The next process is held back too: the wait is remembered on disk, as a 429's Retry-After is.
    async with Egress(store) as egress:
        with pytest.raises(PlatformError, match="nothing was sent"):
            await egress.send("p", "GET", f"{server.url}/r/all.json", limits=ONCE)
    assert len(store.audit.entries()) == 1


async def test_a_429_with_a_spent_budget_is_not_retried_and_says_when(store: Store) -> None:
    with _budget_server("0", "30", status=429) as server:
        async with Egress(store) as egress:
            response = await egress.send("p", "GET", f"{server.url}/r/all.json", limits=Limits(retries=2, backoff=0.01))
        assert len(server.requests) == 1
    assert response.status == 429 and response.retry_after == 30


@pytest.mark.parametrize(("remaining", "reset"), [("12.0", "42"), ("0", "soon"), ("0", "0")])
async def test_a_budget_left_or_unreadable_blocks_nothing(store: Store, remaining: str, reset: str) -> None:
    with _budget_server(remaining, reset) as server:
        async with Egress(store) as egress:
            for _ in range(2):
                assert (await egress.send("p", "GET", f"{server.url}/feed", limits=ONCE)).budget_reset is None
        assert len(server.requests) == 2


async def test_a_unix_time_reset_is_read_as_a_time(store: Store) -> None:
    with _budget_server("0", str(int(time.time()) + 20)) as server:
        async with Egress(store) as egress:
            response = await egress.send("p", "GET", f"{server.url}/feed", limits=ONCE)
    assert response.budget_reset is not None and 15 < response.budget_reset <= 21
