"""A platform that attacks: every answer below comes from a real HTTP server on 127.0.0.1,
asked through the real fan-out beside an honest platform. Each attack ends in a clear error
named after its platform, within the platform's deadline, with its audit row completed and
a bounded peak of memory, while the honest platform's items still arrive."""

from __future__ import annotations

import functools
import gzip
import json
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from shieldrec.platforms import Query, fan_out
from shieldrec.store import Store
from shieldrec.store.platform_configs import PlatformConfig

MB = 1024 * 1024
DEADLINE = 3.0  # seconds each platform gets in these fan-outs
GOOD = {"items": [{"id": "g1", "title": "An honest answer"}]}


@functools.lru_cache(maxsize=None)
def gzip_of_zeros(total: int) -> bytes:
    """A gzip stream that inflates to `total` zero bytes, built without compressing them all:
    after a full flush, every further 16 MiB block of zeros compresses to the same bytes.
    (Its trailer is wrong; nobody who stops at a size cap ever reads that far.)"""
    block = bytes(16 * MB)
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    return first + again * (total // len(block) - 1) + packer.flush()


def deflate(data: bytes) -> bytes:
    return zlib.compress(data, 9)


@dataclass
class Attack:
    name: str
    adapter: str  # http-json | rss
    answer: Callable[[Any], str]  # registers its route(s) on the hostile server; returns the platform URL
    error: str  # what the platform's error says (after "<platform>: ")
    peak_mb: float  # the most memory (traced Python allocations) the whole fan-out may take


def _json(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def _nested(depth: int) -> bytes:
    return b'{"items": ' + b"[" * depth + b"]" * depth + b"}"


FEED_ITEM = (b"<item><title>Episode</title><link>https://feed.example/e</link>"
             b"<description>" + b"words " * 150 + b"</description></item>")
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY a "hahahahahahahahahaha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
<!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">]>
<rss version="2.0"><channel><title>t</title><item><title>&i;</title></item></channel></rss>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>t</title><item><title>leak &secret;</title>
<link>https://feed.example/x</link></item></channel></rss>"""


def _feed(items: Iterator[bytes]) -> Iterator[bytes]:
    yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>'
    yield from items
    yield b"</channel></rss>"


ATTACKS = [
    # -- what failed: compressed answers that grow past the cap while they are decoded --------
    Attack("gzip twice, 10 GiB inside", "http-json",
           lambda s: s.add("/a", lambda: gzip.compress(gzip_of_zeros(10 * 1024 * MB)), content_encoding="gzip, gzip"),
           "the answer decompresses to more than the 2,000,000-byte limit", 8),
    Attack("gzip, 1 GiB inside", "http-json",
           lambda s: s.add("/a", lambda: gzip_of_zeros(1024 * MB), content_encoding="gzip"),
           "the answer decompresses to more than the 2,000,000-byte limit", 8),
    Attack("deflate over gzip", "http-json",
           lambda s: s.add("/a", lambda: deflate(gzip_of_zeros(1024 * MB)), content_encoding="gzip, deflate"),
           "the answer decompresses to more than the 2,000,000-byte limit", 8),
    Attack("three layers", "http-json",
           lambda s: s.add("/a", lambda: gzip.compress(gzip.compress(gzip.compress(b"{}"))),
                           content_encoding="gzip, gzip, gzip"),
           "the answer is compressed 3 times over", 4),
    Attack("an encoding nobody asked for", "http-json",
           lambda s: s.add("/a", lambda: b"\x1b\x00\x00", content_encoding="br"),
           "the answer is encoded as 'br', which was not asked for", 4),
    Attack("corrupt gzip", "http-json",
           lambda s: s.add("/a", lambda: b"\x1f\x8b\x08\x00garbage-garbage", content_encoding="gzip"),
           "the answer's gzip compression is corrupt", 4),
    Attack("rss, gzip twice, 10 GiB inside", "rss",
           lambda s: s.add("/a", lambda: gzip.compress(gzip_of_zeros(10 * 1024 * MB)),
                           content_type="application/rss+xml", content_encoding="gzip, gzip"),
           "the answer decompresses to more than the 2,000,000-byte limit", 8),
    # -- what holds: size, time, structure, encoding, redirects, retries ----------------------
    Attack("100 MB, no length given", "http-json",
           lambda s: s.add("/a", lambda: s.repeated(b'{"items": [' + b" " * 65525, 100 * MB)),
           "the answer is larger than the 2,000,000-byte limit", 8),
    Attack("100 MB, length given", "http-json",
           lambda s: s.add("/a", lambda: iter([b"{}"]), content_length=str(100 * MB)),
           "the answer is 104,857,600 bytes, over the 2,000,000-byte limit", 4),
    Attack("trickled, a byte a second", "http-json",
           lambda s: s.add("/a", lambda: s.trickle(b" ", 1.0)),
           f"timed out after {DEADLINE:g}s", 4),
    Attack("not JSON", "http-json", lambda s: s.add("/a", lambda: b"<html>hello</html>", content_type="text/html"),
           "the answer is not JSON (text/html", 4),
    Attack("10,000 levels deep", "http-json", lambda s: s.add("/a", lambda: _nested(10_000)),
           "the JSON answer is nested too deeply", 4),
    Attack("wrong types", "http-json",
           lambda s: s.add("/a", lambda: _json({"items": [{"id": {"x": 1}, "title": ["t"]}, 7, None]})),
           "no usable item in the answer", 4),
    Attack("invalid UTF-8", "http-json", lambda s: s.add("/a", lambda: b'{"items": [{"id": "\xff\xfe"}]}'),
           "the answer is not UTF-8 text", 4),
    Attack("a redirect loop", "http-json",
           lambda s: s.add("/a", lambda: b"", status=302, location=s.url("/a")),
           "more than 3 redirects; stopped", 4),
    Attack("always 503", "http-json", lambda s: s.add("/a", lambda: b"busy", status=503),
           "the platform answered HTTP 503", 4),
    Attack("rss, billion laughs", "rss", lambda s: s.add("/a", lambda: LAUGHS, content_type="application/rss+xml"),
           "", 8),
    Attack("rss, 50 MB", "rss",
           lambda s: s.add("/a", lambda: _feed(s.repeated(FEED_ITEM, 50 * MB)), content_type="application/rss+xml"),
           "the answer is larger than the 2,000,000-byte limit", 8),
]


async def _ask(store: Store, hostile: Any, attack: Attack) -> tuple[Any, float, float]:
    profile = store.create_profile("maya")
    url = attack.answer(hostile)
    good = hostile.add("/good", lambda: _json(GOOD))
    settings = {"url": url, "timeout": DEADLINE, "backoff": 0.05}
    configs = [PlatformConfig("evil", attack.adapter, settings),
               PlatformConfig("honest", "http-json", {"url": good})]
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    try:
        result = await fan_out(store, profile, Query("space", 10), configs, timeout=DEADLINE)
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / MB
        tracemalloc.stop()
    return result, elapsed, peak


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
async def test_a_hostile_answer_is_a_named_error_in_bounded_time_and_memory(store: Store, hostile: Any,
                                                                            attack: Attack) -> None:
    result, elapsed, peak = await _ask(store, hostile, attack)
    titles = [item.title for item in result.items]
    assert "An honest answer" in titles  # the other platform answered all the same
    if attack.error:
        assert result.errors.get("evil", "").startswith(f"evil: {attack.error}"), result.errors
    else:  # answers that hold nothing harmful once parsed: whatever came through is bounded text
        assert "evil" in result.errors or all(len(t) <= 300 for t in titles)
    assert "honest" not in result.errors
    assert elapsed < DEADLINE + 2.0
    assert peak < attack.peak_mb, f"peak {peak:.1f} MB"
    for entry in store.audit.entries():
        assert entry.duration_ms is not None  # every request's audit row was completed
        if entry.platform == "evil" and entry.bytes_in is not None:
            assert entry.bytes_in <= 2_000_000 + 1024 * 1024


async def test_an_external_entity_is_never_read(store: Store, hostile: Any) -> None:
    hostile.add("/xxe", lambda: XXE, content_type="application/rss+xml")
    profile = store.create_profile("maya")
    result = await fan_out(store, profile, Query("leak", 10),
                           [PlatformConfig("evil", "rss", {"url": hostile.url("/xxe")})], timeout=DEADLINE)
    text = json.dumps(result.to_dict())
    assert "root:" not in text and "/bin/" not in text


async def test_a_flaky_platform_is_retried_and_answers(store: Store, hostile: Any) -> None:
    replies = iter([503, 503, 200])

    def answer(handler: Any) -> None:
        status = next(replies)
        body = _json(GOOD) if status == 200 else b"busy"
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    hostile.routes["/flaky"] = answer
    profile = store.create_profile("maya")
    result = await fan_out(store, profile, Query("space", 10), [PlatformConfig(
        "flaky", "http-json", {"url": hostile.url("/flaky"), "backoff": 0.05})], timeout=DEADLINE)
    assert result.errors == {} and [i.title for i in result.items] == ["An honest answer"]
    assert [e.status for e in store.audit.entries()] == [503, 503, 200]


async def test_escape_laden_titles_arrive_as_plain_text(store: Store, hostile: Any) -> None:
    nasty = "\x1b]0;pwned\x07\x1b[2J\x1b[31mRed\x1b[0m \u202eevil\u202c \U000e0041\U000e0042 title\x00\x9b31m"
    hostile.add("/esc", lambda: _json({"items": [{"id": "e1", "title": nasty, "description": nasty}]}))
    profile = store.create_profile("maya")
    result = await fan_out(store, profile, Query("space", 10),
                           [PlatformConfig("evil", "http-json", {"url": hostile.url("/esc")})], timeout=DEADLINE)
    (item,) = result.items
    assert item.title == "Red evil title"
    assert "bidi overrides" in item.tricks and "terminal escape codes" in item.tricks
