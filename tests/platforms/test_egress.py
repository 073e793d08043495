"""What a misbehaving platform gets back: bounded reads, clear errors, an audit entry per attempt."""

from __future__ import annotations

import socket

import json

import httpx
import pytest

from shieldrec.errors import PlatformError
from shieldrec.platforms import DemoServer, Egress, Query
from shieldrec.platforms.demo import DemoAdapter
from shieldrec.platforms.demo_catalog import Catalog
from shieldrec.platforms.egress import Auth, Limits
from shieldrec.platforms.http_json import HttpJsonAdapter
from shieldrec.store import Store

pytestmark = pytest.mark.slow  # real servers, processes or the embedding model

Q = Query("space", 5)


async def ask(store: Store, url: str, **settings: object) -> list:
    async with Egress(store) as egress:
        return await DemoAdapter("p", {"base_url": url, **settings}, egress).recommend(Q)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("not-json", "p: the answer is not JSON (text/html; it starts with '<!doctype html>"),
        ("deep", "p: the JSON answer is nested too deeply (more than 20 levels)"),
        ("wrong-types", "p: no usable item in the answer; item 1: 'id' (at 'id') should be text or a whole number, got an object"),
        ("error", "p: the platform answered HTTP 500"),
    ],
)
async def test_unusable_answers_give_a_clear_error(store: Store, catalog: Catalog, fault: str, message: str) -> None:
    with DemoServer(catalog=catalog, fault=fault) as server, pytest.raises(PlatformError) as caught:
        await ask(store, server.url, retries=0)
    assert str(caught.value).startswith(message)


async def test_an_oversized_answer_is_cut_at_the_cap(store: Store, catalog: Catalog) -> None:
    with DemoServer(catalog=catalog, fault="huge") as server:
        with pytest.raises(PlatformError, match="larger than the 100,000-byte limit; stopped reading"):
            await ask(store, server.url, max_bytes=100_000)
    (entry,) = store.audit.entries()
    # It stopped after about the cap, not after the 50 MB the platform was sending.
    assert 100_000 < entry.bytes_in < 300_000 and entry.status == 200 and "limit" in entry.error


async def test_retries_5xx_with_backoff_and_audits_each_attempt(store: Store, catalog: Catalog) -> None:
    with DemoServer(catalog=catalog, fault="flaky") as server:  # 503, 503, then fine
        items = await ask(store, server.url, retries=2, backoff=0.05)
        log = server.request_log
    assert len(items) == 5
    statuses = [e.status for e in store.audit.entries()]
    assert statuses == [503, 503, 200] == [e["status"] for e in log]


async def test_gives_up_after_the_retries(store: Store, catalog: Catalog) -> None:
    with DemoServer(catalog=catalog, fault="flaky") as server, pytest.raises(PlatformError, match="HTTP 503"):
        await ask(store, server.url, retries=1, backoff=0.01)
    assert [e.status for e in store.audit.entries()] == [503, 503]


async def test_an_unreachable_platform_is_a_clear_error(store: Store) -> None:
    # A port bound and held but never listening: every connection is refused, and nothing else can take the
    # port while the test runs.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        with pytest.raises(PlatformError, match="connection failed"):
            await ask(store, f"http://127.0.0.1:{held.getsockname()[1]}", retries=1, backoff=0.01)
    entries = store.audit.entries()
    assert len(entries) == 2 and all(e.status is None and "connection failed" in e.error for e in entries)


# -- edge cases where a real server adds nothing: httpx.MockTransport ----------------------


def json_reply(payload: object, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(payload).encode(), headers={"content-type": "application/json", **headers})


async def test_redirects_are_limited_and_each_hop_is_audited(store: Store) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        n = int(request.url.path.strip("/") or 0)
        return httpx.Response(302, headers={"location": f"/{n + 1}"})

    async with Egress(store, transport=httpx.MockTransport(handler)) as egress:
        with pytest.raises(PlatformError, match="more than 3 redirects"):
            await egress.send("p", "GET", "https://api.example/0")
    assert [e.url for e in store.audit.entries()] == [f"https://api.example/{n}" for n in range(4)]


async def test_token_never_follows_a_redirect_to_another_origin(store: Store) -> None:
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers.get("authorization")))
        if request.url.host == "api.example":
            return httpx.Response(307, headers={"location": "https://elsewhere.example/items"})
        return json_reply({"items": []})

    async with Egress(store, transport=httpx.MockTransport(handler), token_for=lambda name: "s3cret-tok") as egress:
        await egress.send("p", "GET", "https://api.example/items", auth=Auth())
    assert seen == [("api.example", "Bearer s3cret-tok"), ("elsewhere.example", None)]
    assert "s3cret-tok" not in json.dumps([e.to_dict() for e in store.audit.entries()])


async def test_refuses_downgrade_and_non_web_redirects(store: Store) -> None:
    targets = iter(["http://api.example/plain", "file:///etc/passwd"])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": next(targets)})

    async with Egress(store, transport=httpx.MockTransport(handler)) as egress:
        with pytest.raises(PlatformError, match="from https to plain http"):
            await egress.send("p", "GET", "https://api.example/a")
        with pytest.raises(PlatformError, match="non-web address"):
            await egress.send("p", "GET", "https://api.example/b")
        with pytest.raises(PlatformError, match="only http"):
            await egress.send("p", "GET", "ftp://api.example/c")


async def test_declared_oversize_is_refused_before_reading(store: Store) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"{}", headers={"content-length": "999999999"})

    async with Egress(store, transport=httpx.MockTransport(handler)) as egress:
        with pytest.raises(PlatformError, match="999,999,999 bytes, over the 2,000,000-byte limit"):
            await egress.send("p", "GET", "https://api.example/")


async def test_cookies_are_refused(store: Store) -> None:
    cookies: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        cookies.append(request.headers.get("cookie"))
        return json_reply({"items": []}, **{"set-cookie": "uid=track-me; Path=/"})

    async with Egress(store, transport=httpx.MockTransport(handler)) as egress:
        for _ in range(3):
            await egress.send("p", "GET", "https://api.example/")
    assert cookies == [None, None, None]


async def test_retry_after_is_honoured_within_a_bound(store: Store) -> None:
    waits: list[float] = []
    replies = iter([httpx.Response(429, headers={"retry-after": "3"}),
                    httpx.Response(503, headers={"retry-after": "86400"}), json_reply({"items": []})])

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    egress = Egress(store, transport=httpx.MockTransport(lambda r: next(replies)), sleep=sleep)
    response = await egress.send("p", "GET", "https://api.example/", limits=Limits(retries=2, backoff=0.5))
    await egress.aclose()
    assert response.status == 200 and waits == [3.0, 10.0]


async def test_timeouts_are_retried_then_reported(store: Store) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async def no_wait(seconds: float) -> None:
        return None

    async with Egress(store, transport=httpx.MockTransport(handler), sleep=no_wait) as egress:
        with pytest.raises(PlatformError, match="no answer within 10s"):
            await egress.send("p", "GET", "https://api.example/", limits=Limits(retries=2))
    assert [e.error for e in store.audit.entries()] == ["read timeout"] * 3


async def test_a_missing_token_is_a_clear_error_and_nothing_is_sent(store: Store, memory_keyring: object) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return json_reply({"items": []})

    async with Egress(store, transport=httpx.MockTransport(handler)) as egress:
        adapter = HttpJsonAdapter("shop", {"url": "https://api.example/rec", "auth": "bearer"}, egress)
        with pytest.raises(PlatformError, match="no token stored; run `shieldrec platform login shop`"):
            await adapter.recommend(Q)
    assert sent == [] and store.audit.entries() == []


async def test_the_audit_entry_exists_before_the_request_leaves(store: Store) -> None:
    at_send: list[list[tuple[str, int | None]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        # What the audit log holds at the moment the platform receives the request.
        at_send.append([(e.url, e.status) for e in store.audit.entries()])
        return json_reply({"items": []})

    async with Egress(store, transport=httpx.MockTransport(handler)) as egress:
        await egress.send("p", "GET", "https://api.example/a", params={"q": "tea"})
        await egress.send("p", "GET", "https://api.example/b")
    assert at_send == [[("https://api.example/a", None)],
                       [("https://api.example/a", 200), ("https://api.example/b", None)]]
    first = store.audit.entries()[0]
    assert first.params == {"query": {"q": "tea"}} and first.bytes_out > len("https://api.example/a?q=tea")
