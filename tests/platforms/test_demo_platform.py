"""The demo platform itself: a real service with a real catalogue and a platform's habits."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from shieldrec.platforms import (
    DemoServer,
    demo_catalog,
    ensure_demo_platform,
    uses_demo_platform,
)
from shieldrec.platforms.demo_catalog import BUNDLED_BOOKS, Catalog
from shieldrec.store import Store

pytestmark = pytest.mark.slow  # real servers, processes or the embedding model


def get(server: DemoServer, path: str, **params: object) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", params=params, timeout=30)


def test_endpoints(demo: DemoServer) -> None:
    health = get(demo, "/v1/health").json()
    assert health["ok"] and health["sections"]["movies"] == 5005  # 5,000 films and the hostile five
    page = get(demo, "/v1/recommend", q="robot", limit=7, section="movies").json()
    assert len(page["items"]) == 7 and page["attribution"].startswith("Plot: Wikipedia")
    item = page["items"][0]
    assert set(item) >= {"id", "title", "description", "creator", "url", "sponsored", "genres", "year", "stats",
                         "section"}
    assert get(demo, "/v1/items/movie-2548").json()["title"] == "The Iron Giant"
    assert get(demo, "/v1/items/movie-nope").status_code == 404
    assert get(demo, "/v1/nothing").status_code == 404
    assert get(demo, "/v1/recommend", section="songs").status_code == 400
    assert httpx.post(f"{demo.url}/v1/recommend", json={"q": "x"}).status_code == 405
    assert get(demo, "/v1/recommend", limit="lots").status_code == 200  # a bad number falls back to the default


def test_keyword_match_with_popularity_bias(demo: DemoServer) -> None:
    items = get(demo, "/v1/search", q="robot", limit=30).json()["items"]
    organic = [i for i in items if not i["sponsored"] and "-h" not in i["id"]]
    matching = [i for i in organic if "robot" in (i["title"] + i["description"]).lower()]
    assert len(matching) >= len(organic) - 2  # search answers with matches (plus its paid slots)
    titles = [i["title"] for i in items]
    assert "The Iron Giant" in titles


def test_deterministic_for_a_seed(catalog: Catalog) -> None:
    def pages(seed: int) -> list[list[str]]:
        with DemoServer(catalog=catalog, seed=seed) as server:
            return [[i["id"] for i in get(server, "/v1/recommend", q=q, limit=10).json()["items"]]
                    for q in ("space", "love", "space")]

    assert pages(3) == pages(3)
    assert pages(3) != pages(4)


def test_request_log_and_log_file(catalog: Catalog, tmp_path: Path) -> None:
    live = tmp_path / "live.jsonl"
    with DemoServer(catalog=catalog, log_path=live) as server:
        httpx.get(f"{server.url}/v1/recommend?q=tea&limit=2", headers={"Authorization": "Bearer abc"})
        get(server, "/v1/items/book-1")
        log = server.request_log
        server.write_log(tmp_path / "dump.jsonl")
    assert [(e["n"], e["method"], e["path"], e["status"]) for e in log] == [
        (1, "GET", "/v1/recommend", 200), (2, "GET", "/v1/items/book-1", 200)]
    assert log[0]["query"] == {"q": "tea", "limit": "2"}
    assert log[0]["headers"]["authorization"] == "<redacted>" and log[0]["auth"] == "invalid"
    for path in (live, tmp_path / "dump.jsonl"):
        assert [json.loads(line)["path"] for line in path.read_text().splitlines()] == ["/v1/recommend",
                                                                                     "/v1/items/book-1"]
        assert "abc" not in path.read_text()


def test_books_fall_back_to_the_bundled_attributed_subset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SHIELDREC_BOOKS_CSV", raising=False)
    path, how = demo_catalog.books_source()
    assert path == BUNDLED_BOOKS and "500 most-rated" in how
    doc = json.loads(BUNDLED_BOOKS.read_text("utf-8"))
    assert "goodbooks-10k" in doc["attribution"] and "CC BY-SA 4.0" in doc["license"]
    books = demo_catalog.load_books(path)
    assert len(books) == 500 and books[0].title.startswith("The Hunger Games")
    assert books[0].creator == "Suzanne Collins" and books[0].year == 2008

    env_csv = tmp_path / "mine.csv"
    env_csv.write_text(
        "book_id,authors,original_publication_year,title,average_rating,ratings_count,language_code\n"
        "42,Some One,2001.0,A Local Book,4.1,10,eng\n", encoding="utf-8")
    monkeypatch.setenv("SHIELDREC_BOOKS_CSV", str(env_csv))
    path, how = demo_catalog.books_source()
    assert path == env_csv and [b.id for b in demo_catalog.load_books(path)] == ["book-42"]


def test_ensure_demo_platform_adds_then_updates_without_resurrecting(store: Store, catalog: Catalog) -> None:
    profile = store.create_profile("ana")
    assert uses_demo_platform(store, profile)  # nothing configured yet: the demo platform fills in
    with DemoServer(catalog=catalog) as first:
        ensure_demo_platform(store, profile, first)
    configs = {c.name: c for c in store.platforms.list(profile.id)}
    assert {n: (c.adapter, c.settings) for n, c in configs.items()} == {
        "demo-movies": ("demo", {"base_url": first.url, "section": "movies"}),
        "demo-books": ("demo", {"base_url": first.url, "section": "books"}),
    }
    store.platforms.remove(profile.id, "demo-books")
    cfg = configs["demo-movies"]
    cfg.enabled = False
    store.platforms.save(profile.id, cfg)

    second = ensure_demo_platform(store, profile)  # starts its own server on a free port
    try:
        (only,) = store.platforms.list(profile.id)
        assert only.name == "demo-movies" and only.settings["base_url"] == second.url and not only.enabled
        assert get(second, "/v1/health").status_code == 200
    finally:
        second.stop()
    assert not uses_demo_platform(store, profile)  # its only demo platform is switched off
